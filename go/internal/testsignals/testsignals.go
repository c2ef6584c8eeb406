// Package testsignals makes the signals sigop's end-to-end and image tests
// send to the models `make test-e2e` trains.
package testsignals

import (
	"math"
	"math/rand/v2"

	"github.com/sigop-dev/sigop/go/signal"
)

// Axes names the imu model's channels; its classes are "tone_" + an axis.
var Axes = []string{"x", "y", "z"}

// ThreeAxes makes one signal for the "imu" model (sigop's default command
// on three-axis signals at 100 Hz, 256 samples, datasets/axes.py): [3][n]
// of unit noise with an 8-12 Hz tone of amplitude 2 on axis “axis“.
func ThreeAxes(rng *rand.Rand, axis, n int) [][]float64 {
	out := make([][]float64, 3)
	f, phase := 8+4*rng.Float64(), 2*math.Pi*rng.Float64()
	for c := range out {
		out[c] = make([]float64, n)
		for i := range out[c] {
			out[c][i] = rng.NormFloat64()
			if c == axis {
				out[c][i] += 2 * math.Sin(2*math.Pi*f*float64(i)/100+phase)
			}
		}
	}
	return out
}

// Article makes perClass signals of each of the article's classes (blue,
// then red) with the article's default parameters, and their labels.
func Article(perClass int, seed uint64) (rows [][]float64, labels []string) {
	g, err := signal.NewGenerator(signal.DefaultParams(), seed)
	if err != nil { // the default parameters are valid; only a change to them can get here
		panic(err)
	}
	for _, class := range signal.Classes {
		for range perClass {
			x, _ := g.Signal(class)
			rows, labels = append(rows, x), append(labels, class.Name)
		}
	}
	return rows, labels
}
