package signal_test

import (
	"math"
	"slices"
	"testing"

	"github.com/sigop-dev/sigop/go/operator"
	"github.com/sigop-dev/sigop/go/signal"
)

func TestLinspace(t *testing.T) {
	tests := []struct {
		start, stop float64
		n           int
		want        []float64
	}{
		{0, 1, 5, []float64{0, 0.25, 0.5, 0.75, 1}},
		{2, 2, 3, []float64{2, 2, 2}},
		{1, -1, 3, []float64{1, 0, -1}},
		{7, 9, 1, []float64{7}},
		{0, 3 * math.Pi, 2, []float64{0, 3 * math.Pi}},
	}
	for _, tc := range tests {
		got, err := signal.Linspace(tc.start, tc.stop, tc.n)
		if err != nil {
			t.Fatalf("Linspace(%v, %v, %d) error: %v", tc.start, tc.stop, tc.n, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Linspace(%v, %v, %d) = %v; want %v", tc.start, tc.stop, tc.n, got, tc.want)
		}
	}
}

func TestLinspaceErrors(t *testing.T) {
	for _, tc := range []struct {
		start, stop float64
		n           int
	}{{0, 1, 0}, {0, 1, -3}, {math.NaN(), 1, 4}, {0, math.Inf(1), 4}} {
		if got, err := signal.Linspace(tc.start, tc.stop, tc.n); err == nil {
			t.Errorf("Linspace(%v, %v, %d) = %v; want an error", tc.start, tc.stop, tc.n, got)
		}
	}
}

// First values of SplitMix64 seeded with 0 (its published reference output
// starts 0xE220A8397B1DCDAF), mapped to [-1, 1).
func TestNoiseKnownValues(t *testing.T) {
	got := signal.Noise(2, 0)
	u := float64(uint64(0xE220A8397B1DCDAF)>>11) * 0x1p-53
	if got[0] != 2*u-1 {
		t.Fatalf("Noise(2, 0)[0] = %v; want %v", got[0], 2*u-1)
	}
	if got[0] == got[1] {
		t.Fatal("Noise repeats its first value")
	}
	for _, v := range signal.Noise(10000, 42) {
		if v < -1 || v >= 1 {
			t.Fatalf("Noise value %v outside [-1, 1)", v)
		}
	}
}

func TestGeneratorIsSeeded(t *testing.T) {
	a, _ := signal.NewGenerator(signal.DefaultParams(), 7)
	b, _ := signal.NewGenerator(signal.DefaultParams(), 7)
	c, _ := signal.NewGenerator(signal.DefaultParams(), 8)
	x, _ := a.Signal(signal.Red)
	y, _ := b.Signal(signal.Red)
	z, _ := c.Signal(signal.Red)
	if !slices.Equal(x, y) {
		t.Fatal("same seed gave different signals")
	}
	if slices.Equal(x, z) {
		t.Fatal("different seeds gave the same signal")
	}
}

func TestGeneratorRejectsBadParams(t *testing.T) {
	for _, mutate := range []func(*signal.Params){
		func(p *signal.Params) { p.N = 1 },
		func(p *signal.Params) { p.CycleJitter = 0 },
		func(p *signal.Params) { p.SampleNoise = -1 },
	} {
		p := signal.DefaultParams()
		mutate(&p)
		if _, err := signal.NewGenerator(p, 1); err == nil {
			t.Errorf("NewGenerator(%+v) succeeded; want an error", p)
		}
	}
}

// The article's class structure: each tone's spectral peak lies in its band,
// and blue's bands sit above red's.
func TestGeneratorClassStructure(t *testing.T) {
	g, err := signal.NewGenerator(signal.DefaultParams(), 1)
	if err != nil {
		t.Fatal(err)
	}
	local := operator.NewLocal()
	for _, class := range signal.Classes {
		for trial := range 20 {
			x, err := g.Signal(class)
			if err != nil {
				t.Fatal(err)
			}
			mag, err := local.FFT(x)
			if err != nil {
				t.Fatal(err)
			}
			for j, c := range class.Cycles {
				// Tone j runs (c + jitter)/2 full cycles, jitter in [0, 5) ± noise.
				lo, hi := c/2-1, (c+4)/2+2
				peak := lo + argmax(mag[lo:hi+1])
				if mag[peak] < 0.25*signal.DefaultParams().Amplitudes[j]*float64(len(x))/2 {
					t.Errorf("%s trial %d tone %d: peak %.1f at bin %d is too weak for amplitude %v", class.Name, trial, j, mag[peak], peak, signal.DefaultParams().Amplitudes[j])
				}
			}
		}
	}
	if signal.Blue.Cycles[0] <= signal.Red.Cycles[0]+4 {
		t.Fatal("blue's lowest band overlaps red's")
	}
}

func argmax(x []float64) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

func TestPeaks(t *testing.T) {
	mag := []float64{5, 1, 3, 2, 9, 9, 4, 0, 7}
	got := signal.Peaks(mag, 3)
	want := []signal.Peak{{8, 7}, {0, 5}, {2, 3}} // the 9,9 plateau is no strict maximum
	if !slices.Equal(got, want) {
		t.Fatalf("Peaks(%v, 3) = %v; want %v", mag, got, want)
	}
	if got := signal.Peaks([]float64{1}, 5); !slices.Equal(got, []signal.Peak{{0, 1}}) {
		t.Fatalf("Peaks([1], 5) = %v", got)
	}
}

// The three strongest peaks of an article signal are its three tones.
func TestArticleSignalPeaksAreItsTones(t *testing.T) {
	g, _ := signal.NewGenerator(signal.DefaultParams(), 5)
	x, _ := g.Signal(signal.Red)
	mag, _ := operator.NewLocal().FFT(x)
	peaks := signal.Peaks(mag, 3)
	for j, c := range signal.Red.Cycles {
		if p := peaks[j].Bin; p < c/2-1 || p > (c+4)/2+2 {
			t.Errorf("peak %d at bin %d; want tone %d's band around bin %d", j, p, j, c/2)
		}
	}
}
