package signal

// Noise returns n values uniform in [-1, 1) drawn from SplitMix64 seeded with
// seed: value k is 2*u-1 with u = (z_k >> 11) * 2^-53, z_k the k-th output.
// Every step is exact, so Python's sigop.testsignal.noise returns the same
// bits; the shared FFT test vectors are built on it.
func Noise(n int, seed uint64) []float64 {
	out := make([]float64, n)
	state := seed
	for k := range out {
		state += 0x9E3779B97F4A7C15
		z := state
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		z ^= z >> 31
		out[k] = 2*(float64(z>>11)*0x1p-53) - 1
	}
	return out
}
