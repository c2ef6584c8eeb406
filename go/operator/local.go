package operator

import (
	"context"
	"math/cmplx"
	"sync"

	"gonum.org/v1/gonum/dsp/fourier"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Local computes the operators in-process with gonum's dsp/fourier. It gives
// the same results as Client (to floating-point rounding) and returns the same
// InvalidArgument errors for bad input. It is safe for concurrent use.
type Local struct {
	mu    sync.Mutex
	plans map[int]*sync.Pool // n -> pool of *fourier.FFT (one is not goroutine-safe)
}

// NewLocal returns a Local operator.
func NewLocal() *Local { return &Local{plans: make(map[int]*sync.Pool)} }

func (l *Local) plan(n int) *sync.Pool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.plans == nil {
		l.plans = make(map[int]*sync.Pool)
	}
	p, ok := l.plans[n]
	if !ok {
		p = &sync.Pool{New: func() any { return fourier.NewFFT(n) }}
		l.plans[n] = p
	}
	return p
}

// spectrum computes X[k] of each equal-length signal.
func (l *Local) spectrum(ctx context.Context, inputs [][]float64) ([][]complex128, error) {
	n, err := checkBatch(inputs)
	if err != nil {
		return nil, err
	}
	if err := checkFinite(inputs); err != nil {
		return nil, err
	}
	pool := l.plan(n)
	fft := pool.Get().(*fourier.FFT)
	defer pool.Put(fft)
	out := make([][]complex128, len(inputs))
	for i, x := range inputs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out[i] = fft.Coefficients(nil, x)
	}
	return out, nil
}

// FFT returns the magnitude spectrum of input.
func (l *Local) FFT(input []float64) ([]float64, error) {
	return l.FFTContext(context.Background(), input)
}

// FFTContext returns the magnitude spectrum |X[k]| of input, k = 0 .. len(input)/2.
func (l *Local) FFTContext(ctx context.Context, input []float64) ([]float64, error) {
	m, err := l.FFTBatchContext(ctx, [][]float64{input})
	if err != nil {
		return nil, err
	}
	return m[0], nil
}

// FFTBatchContext returns the magnitude spectra of equal-length signals.
func (l *Local) FFTBatchContext(ctx context.Context, inputs [][]float64) ([][]float64, error) {
	spectra, err := l.spectrum(ctx, inputs)
	if err != nil {
		return nil, err
	}
	out := make([][]float64, len(spectra))
	for i, s := range spectra {
		out[i] = make([]float64, len(s))
		for k, v := range s {
			out[i][k] = cmplx.Abs(v)
		}
	}
	return out, nil
}

// Spectrum returns the complex spectrum of input.
func (l *Local) Spectrum(input []float64) ([]complex128, error) {
	return l.SpectrumContext(context.Background(), input)
}

// SpectrumContext returns the complex spectrum X[k] of input, k = 0 .. len(input)/2.
func (l *Local) SpectrumContext(ctx context.Context, input []float64) ([]complex128, error) {
	s, err := l.spectrum(ctx, [][]float64{input})
	if err != nil {
		return nil, err
	}
	return s[0], nil
}

// errNoLocalClassifier: classifiers are TensorFlow graphs, served by a sigop server.
var errNoLocalClassifier = status.Error(codes.Unimplemented, "sigop: Local has no classifier; classify through a Client connected to a sigop server")

// Classify is not available in-process: it returns an Unimplemented error.
func (l *Local) Classify(image []byte) ([]Class, error) { return nil, errNoLocalClassifier }

// ClassifyContext is not available in-process: it returns an Unimplemented error.
func (l *Local) ClassifyContext(context.Context, []byte) ([]Class, error) {
	return nil, errNoLocalClassifier
}

// ClassifySignalContext is not available in-process: it returns an Unimplemented error.
func (l *Local) ClassifySignalContext(context.Context, []float64) ([]Class, error) {
	return nil, errNoLocalClassifier
}
