package operator

import (
	"context"

	"github.com/sigop-dev/sigop/go/classify"
)

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

// Class, Unknown and Result are package classify's: a local model (package
// edge) answers with the same types.
type (
	Class   = classify.Class
	Unknown = classify.Unknown
	Result  = classify.Result
)

var (
	_ Spectral = (*Client)(nil)
	_ Spectral = (*Local)(nil)

	_ classify.Classifier = (*Client)(nil)
)
