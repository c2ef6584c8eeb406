// Package vectors (internal: tests only) reads sigop's shared FFT test vectors (tests/vectors/fft.json),
// which numpy wrote once, so Go unit tests and end-to-end tests check the very
// numbers the Python tests check.
package vectors

import (
	"encoding/json"
	"fmt"
	"math"
	"os"

	"github.com/sigop-dev/sigop/go/signal"
)

// File is the whole vectors file.
type File struct {
	Description string `json:"description"`
	Tolerance   struct {
		Relative   float64 `json:"relative"`
		Definition string  `json:"definition"`
	} `json:"tolerance"`
	Cases []Case `json:"cases"`
}

// Case is one transform: numpy's rfft of Batch noise signals of length N.
type Case struct {
	Name      string      `json:"name"`
	Batch     int         `json:"batch"`
	N         int         `json:"n"`
	Seed      uint64      `json:"seed"`
	Bins      int         `json:"bins"`
	Energy    []float64   `json:"energy"`
	Input     [][]float64 `json:"input"` // only for small cases
	Indices   []int       `json:"indices"`
	Magnitude [][]float64 `json:"magnitude"` // at Indices
	Real      [][]float64 `json:"real"`
	Imag      [][]float64 `json:"imag"`
}

// FromPackage is tests/vectors/fft.json as a test in a package one folder
// below go/ (go/operator, go/e2e) sees it: go test runs in the package's folder.
const FromPackage = "../../tests/vectors/fft.json"

// Load reads and parses a vectors file.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("vectors: %s: %w", path, err)
	}
	if f.Tolerance.Relative <= 0 || len(f.Cases) == 0 {
		return nil, fmt.Errorf("vectors: %s: no tolerance or no cases", path)
	}
	return &f, nil
}

// Inputs regenerates the case's signals: row r is signal.Noise(N, Seed+r).
func (c Case) Inputs() [][]float64 {
	rows := make([][]float64, c.Batch)
	for r := range rows {
		rows[r] = signal.Noise(c.N, c.Seed+uint64(r))
	}
	return rows
}

// Check compares got (full spectra, one row per signal) with the case's
// magnitude, real and imaginary parts at its indices and with its energy, and
// returns the largest relative error found, as the file's tolerance defines
// it. Pass nil for a part that was not computed.
func (f *File) Check(c Case, magnitude, real, imag [][]float64) (float64, error) {
	worst := 0.0
	for r := range c.Batch {
		scale := 0.0
		for _, v := range c.Magnitude[r] {
			scale = math.Max(scale, math.Abs(v))
		}
		scale = math.Max(scale, math.SmallestNonzeroFloat64)
		parts := []struct {
			name string
			got  [][]float64
			want []float64
		}{{"magnitude", magnitude, c.Magnitude[r]}, {"real", real, c.Real[r]}, {"imag", imag, c.Imag[r]}}
		for _, p := range parts {
			if p.got == nil {
				continue
			}
			if len(p.got) != c.Batch || len(p.got[r]) != c.Bins {
				return worst, fmt.Errorf("%s: %s row %d has %d bins (of %d rows); want %d bins of %d rows", c.Name, p.name, r, lenRow(p.got, r), len(p.got), c.Bins, c.Batch)
			}
			for i, k := range c.Indices {
				e := math.Abs(p.got[r][k]-p.want[i]) / scale
				worst = math.Max(worst, e)
				if !(e <= f.Tolerance.Relative) {
					return worst, fmt.Errorf("%s: %s[%d][%d] = %v; want %v (relative error %.3g > %g)", c.Name, p.name, r, k, p.got[r][k], p.want[i], e, f.Tolerance.Relative)
				}
			}
		}
		if magnitude != nil {
			energy := 0.0
			for _, v := range magnitude[r] {
				energy += v * v
			}
			if e := math.Abs(energy-c.Energy[r]) / c.Energy[r]; !(e <= f.Tolerance.Relative) {
				return worst, fmt.Errorf("%s: row %d energy = %v; want %v (relative error %.3g)", c.Name, r, energy, c.Energy[r], e)
			}
		}
	}
	return worst, nil
}

func lenRow(rows [][]float64, r int) int {
	if r < len(rows) {
		return len(rows[r])
	}
	return -1
}
