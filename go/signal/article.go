package signal

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Class is one kind of device in the article: the base number of half-cycles
// of each of its three tones over the signal (tone i's phase runs from 0 to
// (Cycles[i] + jitter)·π, so it lands near FFT bin (Cycles[i]+jitter)/2).
type Class struct {
	Name   string
	Cycles [3]int
}

// The article's two classes: "blue" devices have slightly higher frequency
// content than "red" ones in each of the three bands. With the default jitter
// of up to 4 half-cycles, the bands of the two classes never overlap.
var (
	Red  = Class{Name: "red", Cycles: [3]int{40, 120, 240}}
	Blue = Class{Name: "blue", Cycles: [3]int{48, 130, 252}}
)

// Classes lists the article's classes in label order.
var Classes = []Class{Blue, Red}

// Params are the generator's knobs; DefaultParams gives the article's.
type Params struct {
	N              int        // samples per signal
	Amplitudes     [3]float64 // of the three tones: 10, 5, 1
	CycleJitter    int        // rand.Intn(CycleJitter) half-cycles added per tone (frequency noise)
	FrequencyNoise float64    // std of further continuous half-cycles per tone (frequency noise)
	AmplitudeNoise float64    // relative std of each tone's amplitude (amplitude noise)
	SampleNoise    float64    // std of white noise added to every sample
}

// DefaultParams returns the article's parameters for 1024-sample signals.
func DefaultParams() Params {
	return Params{N: 1024, Amplitudes: [3]float64{10, 5, 1}, CycleJitter: 5, FrequencyNoise: 0.25, AmplitudeNoise: 0.05, SampleNoise: 0.5}
}

// Generator draws article signals from a seeded source; the same seed and
// Params give the same signals. It is not safe for concurrent use.
type Generator struct {
	p   Params
	rng *rand.Rand
}

// NewGenerator checks p and returns a Generator seeded with seed.
func NewGenerator(p Params, seed uint64) (*Generator, error) {
	if p.N < 2 {
		return nil, fmt.Errorf("signal: N must be >= 2 samples, got %d", p.N)
	}
	if p.CycleJitter < 1 {
		return nil, fmt.Errorf("signal: CycleJitter must be >= 1 (rand.Intn's bound), got %d", p.CycleJitter)
	}
	if p.FrequencyNoise < 0 || p.AmplitudeNoise < 0 || p.SampleNoise < 0 {
		return nil, fmt.Errorf("signal: noise levels must be >= 0, got %+v", p)
	}
	return &Generator{p: p, rng: rand.New(rand.NewPCG(seed, 0x5167_6f70))}, nil
}

// Signal draws one signal of class c:
//
//	signal[i] = 10*sin(θ1[i]+φ1) + 5*sin(θ2[i]+φ2) + sin(θ3[i]+φ3) + noise
//
// with θj = Linspace(0, (c.Cycles[j] + rand.Intn(jitter) + freq noise)·π, N)
// and φj uniform in [0, 2π), as in the article.
func (g *Generator) Signal(c Class) ([]float64, error) {
	p := g.p
	out := make([]float64, p.N)
	for j := range 3 {
		cycles := float64(c.Cycles[j]+g.rng.IntN(p.CycleJitter)) + p.FrequencyNoise*g.rng.NormFloat64()
		theta, err := Linspace(0, cycles*math.Pi, p.N)
		if err != nil {
			return nil, err
		}
		phase := g.rng.Float64() * 2 * math.Pi
		amp := p.Amplitudes[j] * (1 + p.AmplitudeNoise*g.rng.NormFloat64())
		for i, t := range theta {
			out[i] += amp * math.Sin(t+phase)
		}
	}
	for i := range out {
		out[i] += p.SampleNoise * g.rng.NormFloat64()
	}
	return out, nil
}
