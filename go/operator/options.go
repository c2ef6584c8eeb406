package operator

import (
	"fmt"
	"math"

	operatorv1 "github.com/sigop-dev/sigop/go/gen/sigop/operator/v1"
)

// CallOption chooses, for one classification call or stream, what the
// Client's dial options (WithClassifier, WithTopK) set by default.
type CallOption func(*call)

type call struct {
	model      string
	version    int64
	topK       int
	sampleRate float64
}

// Model names the classifier; empty: the Client's (WithClassifier), or the
// server's only classifier.
func Model(name string) CallOption { return func(c *call) { c.model = name } }

// Version asks for one version of the model; 0 (the default): the newest.
func Version(v int64) CallOption { return func(c *call) { c.version = v } }

// TopK limits each input's classes to the k best; 0: every label.
func TopK(k int) CallOption { return func(c *call) { c.topK = k } }

// SampleRate says the signals were sampled at hz (waveform classifiers
// resample them to their own rate); 0 (the default): the model's own rate.
// A model that has no rate (spectrum images, signals trained without a
// declared rate) refuses any other.
func SampleRate(hz float64) CallOption { return func(c *call) { c.sampleRate = hz } }

// resolve applies opts over the Client's defaults.
func (c *Client) resolve(opts []CallOption) (call, error) {
	o := call{model: c.classifier, topK: c.topK}
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case o.version < 0:
		return o, fmt.Errorf("version %d; expected 0 (the newest) or a version number", o.version)
	case o.topK < 0:
		return o, fmt.Errorf("top-k %d; expected 0 (every label) or more", o.topK)
	case o.sampleRate < 0 || math.IsNaN(o.sampleRate) || math.IsInf(o.sampleRate, 0):
		return o, fmt.Errorf("sample rate %g Hz; expected 0 (the model's own) or a rate > 0", o.sampleRate)
	}
	return o, nil
}

func (o call) spec() *operatorv1.ModelSpec {
	return &operatorv1.ModelSpec{Name: o.model, Version: o.version}
}
