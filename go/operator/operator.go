package operator

import "context"

// Operator is the article's interface to a signal operator.
type Operator interface {
	// FFT obtains discrete fast fourier transform over input: the magnitude
	// spectrum |X[k]|, k = 0 .. len(input)/2.
	FFT(input []float64) ([]float64, error)
}

// ContextOperator is implemented by Client and Local: the Operator calls with
// a context (deadline, cancellation), batches and the complex spectrum.
type ContextOperator interface {
	Operator
	// FFTContext is FFT under ctx.
	FFTContext(ctx context.Context, input []float64) ([]float64, error)
	// FFTBatchContext returns the magnitude spectrum of each signal; all
	// signals must have the same length.
	FFTBatchContext(ctx context.Context, inputs [][]float64) ([][]float64, error)
	// SpectrumContext returns the complex spectrum X[k], k = 0 .. len(input)/2.
	SpectrumContext(ctx context.Context, input []float64) ([]complex128, error)
}

var (
	_ ContextOperator = (*Client)(nil)
	_ ContextOperator = (*Local)(nil)
)
