package operator

import "context"

// Operator is the article's interface to a signal operator.
type Operator interface {
	// FFT obtains discrete fast fourier transform over input: the magnitude
	// spectrum |X[k]|, k = 0 .. len(input)/2.
	FFT(input []float64) ([]float64, error)
	// Classify ranks the classifier's labels for one encoded image (PNG or
	// JPEG), best first.
	Classify(image []byte) ([]Class, error)
}

// Class is one label of a classifier with its softmax score in [0, 1].
type Class struct {
	Label string  `json:"label"`
	Score float32 `json:"score"`
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
	// ClassifyContext is Classify under ctx.
	ClassifyContext(ctx context.Context, image []byte) ([]Class, error)
	// ClassifySignalContext classifies a time-domain signal with a spectrum
	// classifier: the server renders it exactly as the model's training data.
	ClassifySignalContext(ctx context.Context, signal []float64) ([]Class, error)
}

var (
	_ ContextOperator = (*Client)(nil)
	_ ContextOperator = (*Local)(nil)
)
