package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sigop-dev/sigop/go/operator"
	"github.com/sigop-dev/sigop/go/signal"
)

// StreamResult compares ClassifyStream with ClassifySignal on the same
// windows: latency (one window at a time, the next sent once the last's
// result is back) and throughput (every stream or client sending flat out).
type StreamResult struct {
	Window       int     `json:"window_samples"`
	Streams      int     `json:"streams"`
	Seconds      float64 `json:"seconds"`
	WindowsPerS  float64 `json:"windows_per_second"`
	UnaryPerS    float64 `json:"unary_signals_per_second"`
	StreamP50    float64 `json:"stream_p50_seconds"`
	StreamP99    float64 `json:"stream_p99_seconds"`
	UnaryP50     float64 `json:"unary_p50_seconds"`
	UnaryP99     float64 `json:"unary_p99_seconds"`
	LatencyCalls int     `json:"latency_calls"`
}

// runStream: windows of the model's n samples, hop = n (each chunk completes one window).
func runStream(args []string) error {
	fs := flag.NewFlagSet("stream", flag.ContinueOnError)
	addr := fs.String("addr", "", "sigop server address")
	model := fs.String("model", "", "a spectrum classifier whose contract n is --n")
	n := fs.Int("n", 1024, "the model's window, in samples")
	streams := fs.Int("streams", 1, "concurrent streams (and unary clients) for the throughput run")
	duration := fs.Duration("duration", 10*time.Second, "length of each throughput run")
	calls := fs.Int("latency-calls", 300, "windows timed one at a time (stream and unary each)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	g, err := signal.NewGenerator(signal.DefaultParams(), 5)
	if err != nil {
		return err
	}
	windows := make([][]float64, 64)
	for i := range windows {
		windows[i], _ = g.Signal(signal.Classes[i%len(signal.Classes)])
		windows[i] = windows[i][:*n]
	}
	c, err := operator.Dial(*addr, operator.WithClassifier(*model), operator.WithTopK(1))
	if err != nil {
		return err
	}
	defer c.Close()
	ctx := context.Background()
	cfg := operator.StreamConfig{Hop: float64(*n)}
	out := StreamResult{Window: *n, Streams: *streams, LatencyCalls: *calls}

	// Latency, one window in flight: from the chunk completing a window being sent to its result.
	s, err := c.ClassifyStream(ctx, cfg)
	if err != nil {
		return err
	}
	i := 0
	lat, err := timeCalls(func() error {
		i++
		if err := s.Send(windows[i%len(windows)]); err != nil {
			return err
		}
		return recvWindow(s)
	}, *calls)
	if err != nil {
		return err
	}
	s.CloseSend()
	for recvWindow(s) == nil { // the stream's end
	}
	out.StreamP50, out.StreamP99 = quantile(lat, 0.5), quantile(lat, 0.99)
	lat, err = timeCalls(func() error {
		i++
		_, err := c.ClassifySignals(ctx, windows[i%len(windows):i%len(windows)+1])
		return err
	}, *calls)
	if err != nil {
		return err
	}
	out.UnaryP50, out.UnaryP99 = quantile(lat, 0.5), quantile(lat, 0.99)

	// Throughput: each stream sends windows flat out while its results are read (backpressure paces
	// the sender); at the deadline every stream is cancelled, so nothing queued is waited for.
	var done atomic.Int64
	run, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, *streams)
	for k := range *streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := c.ClassifyStream(run, cfg)
			if err != nil {
				errs <- err
				return
			}
			go func() {
				for i := k; s.Send(windows[i%len(windows)]) == nil; i++ {
				}
			}()
			for {
				r, err := s.Recv()
				// The run's end: the client's deadline, or the server's copy of it, which can fire first.
				if run.Err() != nil || status.Code(err) == codes.DeadlineExceeded {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				if r.Window != nil {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	out.Seconds = duration.Seconds()
	out.WindowsPerS = float64(done.Load()) / out.Seconds
	select {
	case err := <-errs:
		return fmt.Errorf("a stream failed: %w", err)
	default:
	}

	var unary atomic.Int64
	run2, cancel2 := context.WithTimeout(ctx, *duration)
	defer cancel2()
	for k := range *streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k; run2.Err() == nil; i++ {
				if _, err := c.ClassifySignals(ctx, windows[i%len(windows):i%len(windows)+1]); err == nil && run2.Err() == nil {
					unary.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	out.UnaryPerS = float64(unary.Load()) / duration.Seconds()
	return json.NewEncoder(os.Stdout).Encode(out)
}

// recvWindow reads results until a window's arrives (events may come first or after).
func recvWindow(s *operator.Stream) error {
	for {
		r, err := s.Recv()
		if err != nil {
			return err
		}
		if r.Window != nil {
			return nil
		}
	}
}
