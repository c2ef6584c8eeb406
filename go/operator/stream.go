package operator

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sigop-dev/sigop/go/classify"
	operatorv1 "github.com/sigop-dev/sigop/go/gen/sigop/operator/v1"
)

// The stream's types are package classify's: a local model's streams
// (package edge) give the same.
type (
	StreamConfig = classify.StreamConfig
	StreamWindow = classify.StreamWindow
	StreamEvent  = classify.StreamEvent
	StreamResult = classify.StreamResult
)

// Stream is an open ClassifyStream call: Send samples as they come, Recv
// results as they are ready, CloseSend when the signal ends. Send and Recv
// may run in two goroutines.
type Stream struct {
	call   operatorv1.Operator_ClassifyStreamClient
	ctx    context.Context // done when the call ends, however it ends
	cancel context.CancelFunc
}

// ClassifyStream opens a stream and sends its config. The classifier, its
// version (kept for the whole stream), top-k and the samples' rate come from
// opts, as for any classification call. Cancel ctx, or drain Recv to io.EOF,
// to end it.
func (c *Client) ClassifyStream(ctx context.Context, cfg StreamConfig, opts ...CallOption) (*Stream, error) {
	o, err := c.resolve(opts)
	if err != nil {
		return nil, fmt.Errorf("sigop: ClassifyStream: %w", err)
	}
	if err := cfg.Check(); err != nil {
		return nil, fmt.Errorf("sigop: ClassifyStream: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	call, err := c.stub.ClassifyStream(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("sigop: ClassifyStream: %w", err)
	}
	err = call.Send(&operatorv1.ClassifyStreamRequest{Kind: &operatorv1.ClassifyStreamRequest_Config{
		Config: &operatorv1.StreamConfig{
			ModelSpec: o.spec(), SampleRate: o.SampleRate, Hop: cfg.Hop,
			TopK: int32(o.TopK), SmoothingWindows: int32(cfg.SmoothingWindows), MinDuration: cfg.MinDuration,
			Threshold: cfg.Threshold, UnknownEvents: cfg.UnknownEvents,
		}}})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("sigop: ClassifyStream: %w", err)
	}
	return &Stream{call: call, ctx: ctx, cancel: cancel}, nil
}

// Send sends the next samples, any number of them, to a one-channel model.
func (s *Stream) Send(samples []float64) error {
	if len(samples) == 0 {
		return nil
	}
	return s.send(encodeSignals([][]float64{samples}, []int64{int64(len(samples))}))
}

// SendMultichannel sends the next samples of every channel to a model of
// several channels: chunk[c] holds channel c's next samples, the same
// number for each (shape [channels, k]). The server windows all channels
// together; a chunk of another channel count is refused (InvalidArgument).
func (s *Stream) SendMultichannel(chunk [][]float64) error {
	if len(chunk) == 0 || len(chunk[0]) == 0 {
		return nil
	}
	k, err := checkBatch(chunk)
	if err != nil {
		return fmt.Errorf("sigop: ClassifyStream: channels of one chunk: %w", err)
	}
	return s.send(encodeSignals(chunk, []int64{int64(len(chunk)), int64(k)}))
}

func (s *Stream) send(t *operatorv1.Float64Tensor) error {
	err := s.call.Send(&operatorv1.ClassifyStreamRequest{Kind: &operatorv1.ClassifyStreamRequest_Samples{Samples: t}})
	if errors.Is(err, io.EOF) {
		return errors.New("sigop: ClassifyStream: the server ended the stream; Recv returns why")
	}
	if err != nil {
		return fmt.Errorf("sigop: ClassifyStream: %w", err)
	}
	return nil
}

// CloseSend says the signal has ended; the results of its last windows still arrive.
func (s *Stream) CloseSend() error { return s.call.CloseSend() }

// Recv returns the next result, or io.EOF once the stream has ended cleanly.
func (s *Stream) Recv() (StreamResult, error) {
	resp, err := s.call.Recv()
	if err == io.EOF {
		s.cancel()
		return StreamResult{}, io.EOF
	}
	if err != nil {
		s.cancel()
		return StreamResult{}, fmt.Errorf("sigop: ClassifyStream: %w", err)
	}
	r := StreamResult{Model: resp.GetModelSpec().GetName(), Version: resp.GetModelSpec().GetVersion()}
	if w := resp.GetWindow(); w != nil {
		r.Window = &StreamWindow{StartSample: w.GetStartSample(), EndSample: w.GetEndSample(),
			Start: w.GetStartSeconds(), End: w.GetEndSeconds(), Classes: classesOf(w.GetClassification()),
			Unknown: unknownOf(w.GetClassification())}
		return r, nil
	}
	e := resp.GetEvent()
	r.Event = &StreamEvent{Label: e.GetLabel(), Start: e.GetStartSeconds(), StartSample: e.GetStartSample(),
		Score: float32(e.GetScore()), Previous: e.GetPrevious(), PreviousStart: e.GetPreviousStartSeconds(),
		PreviousStartSample: e.GetPreviousStartSample()}
	return r, nil
}

// Watch streams the chunks read from samples and delivers every result on
// the returned channel, which is closed when the stream ends: after samples
// is closed and the last window is answered (the error channel then holds
// nil), on the first error, or when ctx is cancelled (ctx's error). Read
// results until it closes: an unread result holds the stream back.
func (c *Client) Watch(ctx context.Context, cfg StreamConfig, samples <-chan []float64, opts ...CallOption) (<-chan StreamResult, <-chan error) {
	return watch(ctx, c, cfg, samples, (*Stream).Send, opts)
}

// WatchMultichannel is Watch for a model of several channels: each chunk is
// [channels][k] samples, sent with SendMultichannel.
func (c *Client) WatchMultichannel(ctx context.Context, cfg StreamConfig, chunks <-chan [][]float64, opts ...CallOption) (<-chan StreamResult, <-chan error) {
	return watch(ctx, c, cfg, chunks, (*Stream).SendMultichannel, opts)
}

func watch[T any](ctx context.Context, c *Client, cfg StreamConfig, samples <-chan T, send func(*Stream, T) error, opts []CallOption) (<-chan StreamResult, <-chan error) {
	results, done := make(chan StreamResult, 16), make(chan error, 1)
	s, err := c.ClassifyStream(ctx, cfg, opts...)
	if err != nil {
		close(results)
		done <- err
		return results, done
	}
	sent := make(chan error, 1)
	go func() {
		for {
			select {
			case chunk, ok := <-samples:
				if !ok {
					sent <- s.CloseSend()
					return
				}
				if err := send(s, chunk); err != nil {
					sent <- err
					return
				}
			case <-s.ctx.Done(): // cancelled, or the stream failed: a producer that never closes samples must not keep this goroutine
				sent <- s.ctx.Err()
				return
			}
		}
	}()
	go func() {
		defer close(results)
		for {
			r, err := s.Recv()
			if err == io.EOF {
				done <- <-sent
				return
			}
			if err != nil {
				done <- err
				return
			}
			select {
			case results <- r:
			case <-ctx.Done():
				s.cancel()
				done <- ctx.Err()
				return
			}
		}
	}()
	return results, done
}
