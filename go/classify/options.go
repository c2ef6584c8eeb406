package classify

import (
	"fmt"
	"math"
)

// CallOption chooses, for one classification call or stream, what the
// classifier's own settings choose by default.
type CallOption func(*Call)

// Call is what a call's options resolved to.
type Call struct {
	Model      string  // empty: the classifier's default
	Version    int64   // 0: the newest
	TopK       int     // 0: every label
	SampleRate float64 // Hz; 0: the model's own
}

// Model names the classifier; empty: the client's default (or the server's
// only classifier; for a local model, the one open).
func Model(name string) CallOption { return func(c *Call) { c.Model = name } }

// Version asks for one version of the model; 0 (the default): the newest.
func Version(v int64) CallOption { return func(c *Call) { c.Version = v } }

// TopK limits each input's classes to the k best; 0: every label.
func TopK(k int) CallOption { return func(c *Call) { c.TopK = k } }

// SampleRate says the signals were sampled at hz (waveform classifiers
// resample them to their own rate); 0 (the default): the model's own rate.
// A model that has no rate (spectrum images, signals trained without a
// declared rate) refuses any other.
func SampleRate(hz float64) CallOption { return func(c *Call) { c.SampleRate = hz } }

// Resolve applies opts over defaults and checks what any classifier would
// refuse.
func Resolve(defaults Call, opts []CallOption) (Call, error) {
	o := defaults
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case o.Version < 0:
		return o, fmt.Errorf("version %d; expected 0 (the newest) or a version number", o.Version)
	case o.TopK < 0:
		return o, fmt.Errorf("top-k %d; expected 0 (every label) or more", o.TopK)
	case o.SampleRate < 0 || math.IsNaN(o.SampleRate) || math.IsInf(o.SampleRate, 0):
		return o, fmt.Errorf("sample rate %g Hz; expected 0 (the model's own) or a rate > 0", o.SampleRate)
	}
	return o, nil
}
