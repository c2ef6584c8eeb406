package operator_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	operatorv1 "github.com/sigop-dev/sigop/go/gen/sigop/operator/v1"
	"github.com/sigop-dev/sigop/go/operator"
)

// countingStream answers each chunk with one window covering it and an event
// on its first; after failAfter chunks it fails with InvalidArgument.
type countingStream struct {
	operatorv1.UnimplementedOperatorServer
	failAfter int
	config    chan *operatorv1.StreamConfig
}

func (s *countingStream) ClassifyStream(call grpc.BidiStreamingServer[operatorv1.ClassifyStreamRequest, operatorv1.ClassifyStreamResponse]) error {
	first, err := call.Recv()
	if err != nil {
		return err
	}
	s.config <- first.GetConfig()
	var at int64
	for i := 0; ; i++ {
		req, err := call.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if i == s.failAfter {
			return status.Error(codes.InvalidArgument, "message 2: signals: bad chunk")
		}
		n := req.GetSamples().GetShape()[0]
		call.Send(&operatorv1.ClassifyStreamResponse{ModelSpec: &operatorv1.ModelSpec{Name: "motor", Version: 3},
			Kind: &operatorv1.ClassifyStreamResponse_Window{Window: &operatorv1.StreamWindow{
				StartSample: at, EndSample: at + n, Classification: &operatorv1.Classification{
					Classes: []*operatorv1.Class{{Label: "hum", Score: 0.9}}}}}})
		if i == 0 {
			call.Send(&operatorv1.ClassifyStreamResponse{Kind: &operatorv1.ClassifyStreamResponse_Event{Event: &operatorv1.StreamEvent{
				Label: "hum", StartSeconds: 0.5, Score: 0.9}}})
		}
		at += n
	}
}

func TestClassifyStreamSendsItsConfigAndReadsWindowsAndEvents(t *testing.T) {
	srv := &countingStream{failAfter: -1, config: make(chan *operatorv1.StreamConfig, 1)}
	c := startBufconn(t, srv, operator.WithClassifier("motor"), operator.WithTopK(2))
	s, err := c.ClassifyStream(context.Background(), operator.StreamConfig{Hop: 0.5,
		SmoothingWindows: 3, MinDuration: 1, Threshold: 0.4}, operator.Version(3), operator.SampleRate(8000))
	if err != nil {
		t.Fatal(err)
	}
	cfg := <-srv.config
	if cfg.GetModelSpec().GetName() != "motor" || cfg.GetModelSpec().GetVersion() != 3 || cfg.GetTopK() != 2 ||
		cfg.GetSampleRate() != 8000 || cfg.GetHop() != 0.5 || cfg.GetSmoothingWindows() != 3 ||
		cfg.GetMinDuration() != 1 || cfg.GetThreshold() != 0.4 {
		t.Fatalf("config sent: %v", cfg)
	}
	for _, n := range []int{3, 5} {
		if err := s.Send(make([]float64, n)); err != nil {
			t.Fatal(err)
		}
	}
	s.CloseSend()
	var got []string
	for {
		r, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case r.Window != nil:
			if r.Model != "motor" || r.Version != 3 {
				t.Fatalf("window answered by %q version %d; want motor version 3", r.Model, r.Version)
			}
			got = append(got, "window "+itoa(int(r.Window.StartSample))+"-"+itoa(int(r.Window.EndSample)))
		case r.Event != nil:
			got = append(got, "event "+r.Event.Label)
		}
	}
	if strings.Join(got, ", ") != "window 0-3, event hum, window 3-8" {
		t.Fatalf("results %v", got)
	}
}

func TestClassifyStreamRefusesANegativeHopWithoutCalling(t *testing.T) {
	srv := &countingStream{config: make(chan *operatorv1.StreamConfig, 1)}
	c := startBufconn(t, srv)
	if _, err := c.ClassifyStream(context.Background(), operator.StreamConfig{Hop: -1}); err == nil ||
		!strings.Contains(err.Error(), "hop -1") {
		t.Fatalf("ClassifyStream(hop -1): %v; want a refusal naming the hop", err)
	}
	if len(srv.config) != 0 {
		t.Fatal("the server was called")
	}
}

// Watch delivers what came before the failure, then the failure with its status.
func TestWatchDeliversResultsThenTheStreamsError(t *testing.T) {
	srv := &countingStream{failAfter: 1, config: make(chan *operatorv1.StreamConfig, 1)}
	c := startBufconn(t, srv, operator.WithClassifier("motor"))
	chunks := make(chan []float64, 3)
	chunks <- make([]float64, 4)
	chunks <- make([]float64, 4)
	chunks <- make([]float64, 4)
	close(chunks)
	results, done := c.Watch(context.Background(), operator.StreamConfig{}, chunks)
	n := 0
	for range results {
		n++
	}
	err := <-done
	if n != 2 || status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "bad chunk") {
		t.Fatalf("%d results, then %v; want the window and event, then InvalidArgument", n, err)
	}
}

// After the server fails a stream, Watch stops reading samples even though
// the producer never closes them: nothing is left waiting on the channel.
func TestWatchStopsReadingSamplesOnceTheStreamFails(t *testing.T) {
	srv := &countingStream{failAfter: 0, config: make(chan *operatorv1.StreamConfig, 1)}
	c := startBufconn(t, srv)
	chunks := make(chan []float64)
	results, done := c.Watch(context.Background(), operator.StreamConfig{}, chunks)
	chunks <- make([]float64, 4) // the chunk the server fails on
	for range results {
	}
	if err := <-done; status.Code(err) != codes.InvalidArgument {
		t.Fatalf("watch ended with %v; want the server's InvalidArgument", err)
	}
	select {
	case chunks <- make([]float64, 4):
		t.Fatal("Watch still reads samples after its stream failed")
	case <-time.After(200 * time.Millisecond): // nobody reads: the sender has ended
	}
}

// Cancelling the context ends a watch whose samples never stop.
func TestWatchEndsWhenItsContextIsCancelled(t *testing.T) {
	srv := &countingStream{failAfter: -1, config: make(chan *operatorv1.StreamConfig, 1)}
	c := startBufconn(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	chunks := make(chan []float64)
	go func() {
		for ctx.Err() == nil {
			select {
			case chunks <- make([]float64, 2):
			case <-ctx.Done():
			}
		}
	}()
	results, done := c.Watch(ctx, operator.StreamConfig{}, chunks)
	<-results // it runs
	cancel()
	for range results {
	}
	if err := <-done; status.Code(err) != codes.Canceled && err != context.Canceled {
		t.Fatalf("watch ended with %v; want cancellation", err)
	}
}
