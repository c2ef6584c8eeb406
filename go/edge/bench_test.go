package edge

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkFeatures is one PLAID-sized signal's MiniRocket features (one
// channel, 614 samples, the dilations and feature counts a 614-sample model
// fits), on one core.
func BenchmarkFeatures(b *testing.B) {
	dilations := []int64{1, 2, 3, 4, 5, 6, 7, 9, 11, 13, 16, 19, 23, 28, 34, 41, 49, 59, 71, 76}
	per := []int64{27, 12, 12, 8, 8, 4, 4, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 3}
	n := 0
	for _, p := range per {
		n += 84 * int(p)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	biases := make([]float32, n)
	for i := range biases {
		biases[i] = float32(rng.NormFloat64())
	}
	m, err := newMiniRocket(dilations, per, biases, nil, 1)
	if err != nil {
		b.Fatal(err)
	}
	x := make([]float32, 614)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	out := make([]float32, n)
	b.ResetTimer()
	for range b.N {
		m.features([][]float32{x}, out)
	}
}
