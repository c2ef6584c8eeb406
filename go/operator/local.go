package operator

import (
	"context"
	"math/cmplx"
	"sync"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Local computes spectra in-process with gonum's dsp/fourier. It gives the
// same results as Client (to floating-point rounding) and returns the same
// InvalidArgument errors for bad input. It is safe for concurrent use.
// Classifiers are TensorFlow graphs: they need a Client and a server.
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

// Spectra returns the complex spectra X[k], k = 0 .. n/2, of equal-length signals.
func (l *Local) Spectra(ctx context.Context, inputs [][]float64) ([][]complex128, error) {
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

// FFT returns the magnitude spectrum |X[k]| of input, k = 0 .. len(input)/2.
func (l *Local) FFT(input []float64) ([]float64, error) {
	m, err := l.Magnitudes(context.Background(), [][]float64{input})
	if err != nil {
		return nil, err
	}
	return m[0], nil
}

// Magnitudes returns the magnitude spectra of equal-length signals.
func (l *Local) Magnitudes(ctx context.Context, signals [][]float64) ([][]float64, error) {
	spectra, err := l.Spectra(ctx, signals)
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
