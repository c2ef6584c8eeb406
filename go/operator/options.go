package operator

import (
	"github.com/sigop-dev/sigop/go/classify"
	operatorv1 "github.com/sigop-dev/sigop/go/gen/sigop/operator/v1"
)

// CallOption chooses, for one classification call or stream, what the
// Client's dial options (WithClassifier, WithTopK) set by default. It is
// package classify's, so the same options serve a local model (package edge).
type CallOption = classify.CallOption

// Model names the classifier; empty: the Client's (WithClassifier), or the
// server's only classifier.
func Model(name string) CallOption { return classify.Model(name) }

// Version asks for one version of the model; 0 (the default): the newest.
func Version(v int64) CallOption { return classify.Version(v) }

// TopK limits each input's classes to the k best; 0: every label.
func TopK(k int) CallOption { return classify.TopK(k) }

// SampleRate says the signals were sampled at hz (waveform classifiers
// resample them to their own rate); 0 (the default): the model's own rate.
// A model that has no rate (spectrum images, signals trained without a
// declared rate) refuses any other.
func SampleRate(hz float64) CallOption { return classify.SampleRate(hz) }

// call is what a call's options resolved to over the Client's defaults.
type call struct{ classify.Call }

// resolve applies opts over the Client's defaults.
func (c *Client) resolve(opts []CallOption) (call, error) {
	o, err := classify.Resolve(classify.Call{Model: c.classifier, TopK: c.topK}, opts)
	return call{o}, err
}

func (o call) spec() *operatorv1.ModelSpec {
	return &operatorv1.ModelSpec{Name: o.Model, Version: o.Version}
}
