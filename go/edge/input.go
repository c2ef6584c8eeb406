package edge

import (
	"fmt"
	"math"
	"strings"

	"github.com/sigop-dev/sigop/go/classify"
)

// The rates a server resamples from (audio.py's MIN_RATE, MAX_RATE).
const (
	minRate = 1e-6
	maxRate = 1e7
)

// invalid is an ErrInvalidInput error with the server's message.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", classify.ErrInvalidInput, fmt.Sprintf(format, args...))
}

// oneChannel checks one-channel signals as the server does and prepares
// them: [signals][1][samples].
func (m *Model) oneChannel(signals [][]float64, rate float64) ([][][]float32, error) {
	if m.channels != 1 {
		return nil, m.wrongChannels(1)
	}
	rows := make([][][]float64, len(signals))
	for i, s := range signals {
		rows[i] = [][]float64{s}
	}
	return m.prepare(rows, rate, false)
}

// multichannel checks signals of several channels and prepares them.
func (m *Model) multichannel(signals [][][]float64, rate float64) ([][][]float32, error) {
	for i, s := range signals {
		if len(s) != len(signals[0]) {
			return nil, invalid("signal %d has %d channels, signal 0 has %d; every signal needs the same channels", i, len(s), len(signals[0]))
		}
	}
	if len(signals) > 0 && len(signals[0]) != m.channels {
		return nil, m.wrongChannels(len(signals[0]))
	}
	return m.prepare(signals, rate, true)
}

// wrongChannels is the server's refusal of another channel count (plan.shaped).
func (m *Model) wrongChannels(got int) error {
	want := "one channel as [batch, n] or [n]"
	if m.channels > 1 {
		names := ""
		if len(m.channelNames) > 0 {
			names = " (" + strings.Join(m.channelNames, ", ") + ")"
		}
		want = fmt.Sprintf("%d channels%s as [batch, %d, n]", m.channels, names, m.channels)
	}
	plural := ""
	if got > 1 {
		plural = "s"
	}
	return invalid("signals: model '%s' takes %s; got %d channel%s", m.name, want, got, plural)
}

// checkRate refuses what the server refuses, and what only the server can
// do: resample.
func (m *Model) checkRate(given float64, field string) error {
	if given == 0 || given == m.rate {
		return nil
	}
	if !m.declaresRate {
		return invalid("%s is %g Hz, but model '%s' was trained on signals without a declared sample rate "+
			"(taken at a nominal %g Hz), so it cannot resample; send 0", field, given, m.name, m.rate)
	}
	if !(given >= minRate && given <= maxRate) {
		return invalid("%s is %g Hz; expected 0 (the model's own %g Hz) or a positive rate up to %g MHz",
			field, given, m.rate, maxRate/1e6)
	}
	return fmt.Errorf("%w: %s is %g Hz, but this runtime takes signals at model '%s''s own %g Hz: resampling "+
		"is the server's (soxr); resample them, or send them to `sigop serve`", classify.ErrUnsupported, field,
		given, m.name, m.rate)
}

// prepare checks signals [batch][channels][n] (shape, finite, float32's
// range) and makes the model's inputs: float32, padded with zeros or cut at
// the end to its samples.
func (m *Model) prepare(signals [][][]float64, rate float64, channels bool) ([][][]float32, error) {
	if err := m.checkRate(rate, "sample_rate"); err != nil {
		return nil, err
	}
	if len(signals) == 0 {
		return nil, invalid("signals: empty batch; expected at least one signal of n >= 1 samples")
	}
	n := len(signals[0][0])
	for i, s := range signals {
		for c, ch := range s {
			if len(ch) != n {
				return nil, invalid("signals: signal %d%s has %d samples but signal 0 has %d; ragged batches are not allowed",
					i, channelOf(channels, c), len(ch), n)
			}
		}
	}
	if n == 0 {
		return nil, invalid("signals: signal is empty; expected n >= 1 samples")
	}
	out := make([][][]float32, len(signals))
	for i, s := range signals {
		out[i] = make([][]float32, len(s))
		for c, ch := range s {
			for j, v := range ch {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					where := fmt.Sprintf("sample %d", j)
					if len(signals) > 1 || channels {
						where = fmt.Sprintf("signal %d%s, sample %d", i, channelOf(channels, c), j)
					}
					return nil, invalid("signals: %s is %s; expected finite values (no NaN or Inf)", where, pyFloat(v))
				}
				if math.Abs(v) > math.MaxFloat32 {
					return nil, invalid("signals: signal %d holds values beyond ±%.3g, float32's range, which this "+
						"model takes; scale it down", i, math.MaxFloat32)
				}
			}
			out[i][c] = m.fit(ch)
		}
	}
	return out, nil
}

// fit is one channel as the model takes it: float32, padded with zeros or
// cut at the end to its samples.
func (m *Model) fit(ch []float64) []float32 {
	x := make([]float32, m.samples)
	for j := range min(len(ch), m.samples) {
		x[j] = float32(ch[j])
	}
	return x
}

func channelOf(channels bool, c int) string {
	if !channels {
		return ""
	}
	return fmt.Sprintf(", channel %d", c)
}

// pyFloat spells NaN and infinities as the server (Python) does.
func pyFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return fmt.Sprint(v)
}
