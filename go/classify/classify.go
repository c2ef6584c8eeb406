package classify

import (
	"context"
	"errors"
)

// Classifier classifies signals and watches streams of them.
type Classifier interface {
	// ClassifySignals classifies equal-length one-channel signals in one call.
	ClassifySignals(ctx context.Context, signals [][]float64, opts ...CallOption) (*Result, error)
	// ClassifyMultichannel classifies signals of several channels:
	// signals[i][c] is channel c of signal i.
	ClassifyMultichannel(ctx context.Context, signals [][][]float64, opts ...CallOption) (*Result, error)
	// Watch cuts the samples into the model's windows, classifies each and
	// reports label changes; the result channel closes when the stream ends,
	// and the error channel then holds nil or why it ended.
	Watch(ctx context.Context, cfg StreamConfig, samples <-chan []float64, opts ...CallOption) (<-chan StreamResult, <-chan error)
	// WatchMultichannel is Watch for a model of several channels: each chunk
	// is [channels][k] samples.
	WatchMultichannel(ctx context.Context, cfg StreamConfig, chunks <-chan [][]float64, opts ...CallOption) (<-chan StreamResult, <-chan error)
}

// ErrInvalidInput is wrapped by the errors a local classifier returns for
// input that is wrong whatever the model (where a server answers gRPC's
// InvalidArgument): errors.Is(err, ErrInvalidInput).
var ErrInvalidInput = errors.New("invalid input")

// ErrUnsupported is wrapped by the errors for input this model cannot take,
// or a model this runtime cannot run (where a server answers
// FailedPrecondition).
var ErrUnsupported = errors.New("unsupported")

// ErrNotFound is wrapped when a call names a model or version that is not
// the one open (where a server answers NotFound).
var ErrNotFound = errors.New("not found")

// Class is one label of a classifier with its softmax score in [0, 1].
type Class struct {
	Label string  `json:"label"`
	Score float32 `json:"score"`
}

// Unknown is a model's unknown score for one input: how unlike the model's
// training files the input is. Scores are in units of the 95th percentile
// of known files the model did not fit, so ~1 is the edge of what training
// looked like; for a one-class model it is the anomaly score.
type Unknown struct {
	Score float32 `json:"score"`
	// Unknown is true when Score is above the model's threshold, calibrated at
	// training for the false-rejection rate in its manifest: the input looks
	// like none of the training classes (the classes still rank the known labels).
	Unknown bool `json:"unknown"`
}

// Result is a classifier's answer to one call.
type Result struct {
	Model   string    `json:"model"`   // the model that answered
	Version int64     `json:"version"` // its version: the newest, unless the call named one
	Classes [][]Class `json:"classes"` // per input, in order; each best first
	// Unknown is each input's unknown score, in order; nil for a model
	// exported without one.
	Unknown []Unknown `json:"unknown,omitempty"`
}
