package operator_test

import (
	"context"
	"math"
	"math/cmplx"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sigop-dev/sigop/go/internal/vectors"
	"github.com/sigop-dev/sigop/go/operator"
)

func loadVectors(t *testing.T) *vectors.File {
	t.Helper()
	f, err := vectors.Load(vectors.FromPackage)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Local must reproduce numpy's rfft, held in the shared vectors file.
func TestLocalMatchesNumpyVectors(t *testing.T) {
	f := loadVectors(t)
	local := operator.NewLocal()
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			inputs := c.Inputs()
			if c.Input != nil {
				for r := range inputs {
					for i := range inputs[r] {
						if inputs[r][i] != c.Input[r][i] {
							t.Fatalf("signal.Noise(%d, %d)[%d] = %v; numpy wrote %v", c.N, c.Seed+uint64(r), i, inputs[r][i], c.Input[r][i])
						}
					}
				}
			}
			mag, err := local.Magnitudes(context.Background(), inputs)
			if err != nil {
				t.Fatal(err)
			}
			spectra, err := local.Spectra(context.Background(), inputs)
			if err != nil {
				t.Fatal(err)
			}
			re := make([][]float64, len(inputs))
			im := make([][]float64, len(inputs))
			for r, s := range spectra {
				re[r], im[r] = make([]float64, len(s)), make([]float64, len(s))
				for k, v := range s {
					re[r][k], im[r][k] = real(v), imag(v)
				}
			}
			if _, err := f.Check(c, mag, re, im); err != nil {
				t.Error(err)
			}
		})
	}
}

// Known transforms, confirmed with numpy.fft.rfft.
func TestLocalKnownTransforms(t *testing.T) {
	tests := []struct {
		name  string
		input []float64
		want  []complex128
	}{
		{"single sample", []float64{3}, []complex128{3}},
		{"impulse", []float64{1, 0, 0, 0}, []complex128{1, 1, 1}},
		{"constant", []float64{2, 2, 2, 2, 2}, []complex128{10, 0, 0}},
		{"alternating", []float64{1, -1, 1, -1}, []complex128{0, 0, 4}},
		{"ramp", []float64{0, 1, 2, 3}, []complex128{6, complex(-2, 2), -2}},
	}
	local := operator.NewLocal()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spectra, err := local.Spectra(context.Background(), [][]float64{tc.input})
			if err != nil {
				t.Fatal(err)
			}
			got := spectra[0]
			mag, err := local.FFT(tc.input)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) || len(mag) != len(tc.want) {
				t.Fatalf("Spectrum(%v) has %d bins, FFT %d; want %d", tc.input, len(got), len(mag), len(tc.want))
			}
			for k := range tc.want {
				if cmplx.Abs(got[k]-tc.want[k]) > 1e-12 || math.Abs(mag[k]-cmplx.Abs(tc.want[k])) > 1e-12 {
					t.Errorf("Spectrum(%v)[%d] = %v, FFT = %v; want %v", tc.input, k, got[k], mag[k], tc.want[k])
				}
			}
		})
	}
}

func TestLocalRejectsBadInput(t *testing.T) {
	tests := []struct {
		name   string
		inputs [][]float64
	}{
		{"empty signal", [][]float64{{}}},
		{"empty batch", nil},
		{"NaN", [][]float64{{1, math.NaN(), 2}}},
		{"+Inf", [][]float64{{math.Inf(1)}}},
		{"-Inf in second signal", [][]float64{{1, 2}, {3, math.Inf(-1)}}},
		{"ragged", [][]float64{{1, 2, 3}, {1, 2}}},
	}
	local := operator.NewLocal()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := local.Magnitudes(context.Background(), tc.inputs)
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("Magnitudes(%v) error = %v; want code InvalidArgument", tc.inputs, err)
			}
		})
	}
}

func TestLocalHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := operator.NewLocal().Magnitudes(ctx, [][]float64{{1, 2, 3}}); err != context.Canceled {
		t.Fatalf("Magnitudes(cancelled) error = %v; want context.Canceled", err)
	}
}

func BenchmarkLocalFFT(b *testing.B) {
	for _, n := range []int{1024, 65536, 1 << 20} {
		b.Run(itoa(n), func(b *testing.B) {
			x := make([]float64, n)
			for i := range x {
				x[i] = math.Sin(float64(i))
			}
			local := operator.NewLocal()
			for b.Loop() {
				if _, err := local.FFT(x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
