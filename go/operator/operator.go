package operator

import "context"

// Operator is the article's interface to a signal operator.
type Operator interface {
	// FFT obtains discrete fast fourier transform over input: the magnitude
	// spectrum |X[k]|, k = 0 .. len(input)/2.
	FFT(input []float64) ([]float64, error)
}

// Spectral is what Client and Local both compute: spectra of many
// equal-length signals per call, under a context.
type Spectral interface {
	Operator
	// Magnitudes returns |X[k]|, k = 0 .. n/2, of each signal.
	Magnitudes(ctx context.Context, signals [][]float64) ([][]float64, error)
	// Spectra returns X[k], k = 0 .. n/2, of each signal.
	Spectra(ctx context.Context, signals [][]float64) ([][]complex128, error)
}

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

var (
	_ Spectral = (*Client)(nil)
	_ Spectral = (*Local)(nil)
)
