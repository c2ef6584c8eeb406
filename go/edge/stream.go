package edge

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/sigop-dev/sigop/go/classify"
)

// Limits a stream's config is held to, as the server's (stream.py).
const (
	maxSmoothing = 1024
	maxHop       = float64(1 << 53)
	maxHold      = math.MaxInt32
)

// Stream is a long signal classified window by window as it arrives, with
// the server's windows, smoothing and events (ClassifyStream's): Feed
// samples, read the results of the windows they complete and the events
// those set off; Finish at the end. A Stream is not for concurrent use; Watch
// runs one in a goroutine.
type Stream struct {
	m        *Model
	topK     int
	clock    float64 // Hz; 0: times in samples
	length   int
	hop      int
	smoother *smoother
	buffer   [][]float64 // per channel: samples from offset on
	offset   int64       // the stream index of buffer[.][0]
	next     int64       // where the next window starts
	received int64
}

// NewStream opens a stream over the model. Options as for a call: TopK, and
// SampleRate (the model's own, or for a model trained without a declared
// rate the stream's clock, for times in seconds).
func (m *Model) NewStream(cfg classify.StreamConfig, opts ...classify.CallOption) (*Stream, error) {
	o, err := m.resolve(opts)
	if err != nil {
		return nil, fmt.Errorf("edge: ClassifyStream: %w", err)
	}
	if err := cfg.Check(); err != nil {
		return nil, fmt.Errorf("edge: ClassifyStream: %w: %w", classify.ErrInvalidInput, err)
	}
	s, err := m.newStream(cfg, o)
	if err != nil {
		return nil, fmt.Errorf("edge: ClassifyStream: %w", err)
	}
	return s, nil
}

func (m *Model) newStream(cfg classify.StreamConfig, o classify.Call) (*Stream, error) {
	s := &Stream{m: m, topK: o.TopK, length: m.samples, buffer: make([][]float64, m.channels)}
	if m.declaresRate {
		if err := m.checkRate(o.SampleRate, "config.sample_rate"); err != nil {
			return nil, err
		}
		s.clock = m.rate
	} else if o.SampleRate != 0 {
		if !(o.SampleRate >= minRate && o.SampleRate <= maxRate) {
			return nil, invalid("config.sample_rate is %g Hz; expected 0 (times in samples) or a positive rate up "+
				"to %g MHz, the clock of this stream's windows and events", o.SampleRate, maxRate/1e6)
		}
		s.clock = o.SampleRate
	}
	unit, units := s.clock, "seconds"
	if unit == 0 {
		unit, units = 1, "samples"
	}
	if cfg.Hop*unit > maxHop {
		return nil, invalid("config.hop %g %s is %.3g samples at %g Hz; expected at most 2^53 samples (%.3g %s)",
			cfg.Hop, units, cfg.Hop*unit, unit, maxHop/unit, units)
	}
	s.hop = s.length
	if cfg.Hop != 0 {
		s.hop = int(math.RoundToEven(cfg.Hop * unit))
	}
	if s.hop < 1 {
		return nil, invalid("config.hop %g is less than one sample at %g Hz", cfg.Hop, unit)
	}
	hopTime := float64(s.hop) / unit
	if cfg.MinDuration/hopTime > maxHold {
		return nil, invalid("config.min_duration %g %s is more than %d hops of %g %s; expected at most %.3g %s",
			cfg.MinDuration, units, maxHold, hopTime, units, maxHold*hopTime, units)
	}
	if cfg.SmoothingWindows < 0 || cfg.SmoothingWindows > maxSmoothing || cfg.Threshold > 1 {
		return nil, invalid("config: smoothing_windows must be 0 to %d, top_k >= 0, threshold in [0, 1]; got %d, %d, %g",
			maxSmoothing, cfg.SmoothingWindows, o.TopK, cfg.Threshold)
	}
	hold := holdWindows(cfg.MinDuration, hopTime)
	s.smoother = &smoother{labels: m.labels, threshold: cfg.Threshold, hop: float64(s.hop), window: float64(s.length),
		hold: hold, unknownHold: max(1, hold, unknownHoldWindows(hold, s.length, s.hop, cfg.SmoothingWindows)),
		size: max(1, cfg.SmoothingWindows)}
	if cfg.UnknownEvents && m.unknown != nil {
		t := m.unknown.threshold
		s.smoother.unknownThreshold = &t
	}
	return s, nil
}

// Feed adds the next samples of a one-channel stream and returns the
// results of the windows they complete, each followed by the event it sets
// off, if any.
func (s *Stream) Feed(samples []float64) ([]classify.StreamResult, error) {
	return s.FeedMultichannel([][]float64{samples})
}

// FeedMultichannel adds the next samples of every channel: chunk[c] holds
// channel c's next samples, the same number for each. A chunk of another
// channel count is refused, naming both.
func (s *Stream) FeedMultichannel(chunk [][]float64) ([]classify.StreamResult, error) {
	if len(chunk) != s.m.channels {
		return nil, fmt.Errorf("edge: ClassifyStream: %w", s.wrongRows(len(chunk)))
	}
	for c, ch := range chunk {
		if len(ch) != len(chunk[0]) {
			return nil, fmt.Errorf("edge: ClassifyStream: %w", invalid("samples: channel %d has %d samples but channel 0 has %d", c, len(ch), len(chunk[0])))
		}
		for j, v := range ch {
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > math.MaxFloat32 {
				return nil, fmt.Errorf("edge: ClassifyStream: %w", invalid("samples: channel %d, sample %d is %s; expected finite values within float32's range", c, j, pyFloat(v)))
			}
		}
	}
	for c, ch := range chunk {
		s.buffer[c] = append(s.buffer[c], ch...)
	}
	s.received += int64(len(chunk[0]))
	s.dropPassed()
	var out []classify.StreamResult
	for s.next+int64(s.length) <= s.offset+int64(len(s.buffer[0])) {
		i := int(s.next - s.offset)
		window := make([][]float64, len(s.buffer))
		for c := range s.buffer {
			window[c] = s.buffer[c][i : i+s.length]
		}
		out = append(out, s.classified(s.next, window)...)
		s.next += int64(s.hop)
		s.dropPassed()
	}
	return out, nil
}

// Finish ends the stream: a stream shorter than one window is that window,
// zero-padded (as a call pads a short signal); a longer stream's remainder
// after its last window gives none.
func (s *Stream) Finish() []classify.StreamResult {
	if s.next > 0 || s.received == 0 {
		return nil
	}
	return s.classified(0, s.buffer) // prepare pads it to the model's length
}

func (s *Stream) wrongRows(rows int) error {
	names, plural, send := "", "", "chunks [k]"
	if len(s.m.channelNames) > 0 {
		names = " (" + strings.Join(s.m.channelNames, ", ") + ")"
	}
	if s.m.channels > 1 {
		plural, send = "s", fmt.Sprintf("chunks [%d, k]", s.m.channels)
	}
	return invalid("samples: %d rows, but model '%s' takes %d channel%s%s: send %s", rows, s.m.name, s.m.channels, plural, names, send)
}

// dropPassed forgets the samples before the next window's start.
func (s *Stream) dropPassed() {
	drop := int(min(s.next-s.offset, int64(len(s.buffer[0]))))
	if drop <= 0 {
		return
	}
	for c := range s.buffer {
		s.buffer[c] = append(s.buffer[c][:0], s.buffer[c][drop:]...)
	}
	s.offset += int64(drop)
}

func (s *Stream) classified(start int64, window [][]float64) []classify.StreamResult {
	x := make([][]float32, len(window)) // its samples were checked as they were fed
	for c, ch := range window {
		x[c] = s.m.fit(ch)
	}
	a := s.m.one(x)
	w := &classify.StreamWindow{StartSample: start, EndSample: start + int64(s.length),
		Classes: rank(s.m.labels, a.probabilities, s.topK), Unknown: a.unknown}
	if s.clock > 0 {
		w.Start, w.End = float64(start)/s.clock, float64(start+int64(s.length))/s.clock
	}
	out := []classify.StreamResult{{Window: w, Model: s.m.name, Version: s.m.version}}
	var unknown *float32
	if a.unknown != nil {
		unknown = &a.unknown.Score
	}
	if e := s.smoother.push(a.probabilities, float64(start), unknown); e != nil {
		ev := &classify.StreamEvent{Label: e.label, StartSample: int64(math.RoundToEven(e.start)), Score: float32(e.score),
			Previous: e.previous, PreviousStartSample: int64(math.RoundToEven(e.previousStart))}
		if s.clock > 0 {
			ev.Start, ev.PreviousStart = float64(ev.StartSample)/s.clock, float64(ev.PreviousStartSample)/s.clock
		}
		out = append(out, classify.StreamResult{Event: ev, Model: s.m.name, Version: s.m.version})
	}
	return out
}

// Watch streams the chunks read from samples through the model and delivers
// every result on the returned channel, which is closed when the stream
// ends: after samples is closed and its last window answered (the error
// channel then holds nil), on the first error, or when ctx is cancelled
// (ctx's error). It is operator.Client's Watch, computed here.
func (m *Model) Watch(ctx context.Context, cfg classify.StreamConfig, samples <-chan []float64, opts ...classify.CallOption) (<-chan classify.StreamResult, <-chan error) {
	return watch(ctx, m, cfg, samples, (*Stream).Feed, opts)
}

// WatchMultichannel is Watch for a model of several channels: each chunk is
// [channels][k] samples.
func (m *Model) WatchMultichannel(ctx context.Context, cfg classify.StreamConfig, chunks <-chan [][]float64, opts ...classify.CallOption) (<-chan classify.StreamResult, <-chan error) {
	return watch(ctx, m, cfg, chunks, (*Stream).FeedMultichannel, opts)
}

func watch[T any](ctx context.Context, m *Model, cfg classify.StreamConfig, samples <-chan T,
	feed func(*Stream, T) ([]classify.StreamResult, error), opts []classify.CallOption) (<-chan classify.StreamResult, <-chan error) {
	results, done := make(chan classify.StreamResult, 16), make(chan error, 1)
	s, err := m.NewStream(cfg, opts...)
	if err != nil {
		close(results)
		done <- err
		return results, done
	}
	go func() {
		defer close(results)
		deliver := func(rs []classify.StreamResult) bool {
			for _, r := range rs {
				select {
				case results <- r:
				case <-ctx.Done():
					return false
				}
			}
			return true
		}
		for {
			select {
			case chunk, ok := <-samples:
				if !ok {
					if deliver(s.Finish()) {
						done <- nil
					} else {
						done <- ctx.Err()
					}
					return
				}
				rs, err := feed(s, chunk)
				if err != nil {
					done <- err
					return
				}
				if !deliver(rs) {
					done <- ctx.Err()
					return
				}
			case <-ctx.Done():
				done <- ctx.Err()
				return
			}
		}
	}()
	return results, done
}
