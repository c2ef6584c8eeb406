package signal

import (
	"fmt"
	"math"
)

// Linspace returns n evenly spaced values from start to stop inclusive, as
// numpy.linspace does; n == 1 gives [start].
func Linspace(start, stop float64, n int) ([]float64, error) {
	if n < 1 {
		return nil, fmt.Errorf("signal: Linspace needs n >= 1 points, got %d", n)
	}
	if math.IsNaN(start) || math.IsInf(start, 0) || math.IsNaN(stop) || math.IsInf(stop, 0) {
		return nil, fmt.Errorf("signal: Linspace needs finite bounds, got [%v, %v]", start, stop)
	}
	out := make([]float64, n)
	if n == 1 {
		out[0] = start
		return out, nil
	}
	step := (stop - start) / float64(n-1)
	for i := range out {
		out[i] = start + float64(i)*step
	}
	out[n-1] = stop
	return out, nil
}
