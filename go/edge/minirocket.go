package edge

import (
	"fmt"
	"math"
	"slices"
	"sync"
)

// kernelLength is MiniRocket's kernel length; kernelIndices are its 84
// kernels, the positions of the three weights of 2 among nine (the other six
// are -1), in Python's itertools.combinations order.
const kernelLength = 9

var kernelIndices = func() [][3]int {
	var out [][3]int
	for a := 0; a < kernelLength; a++ {
		for b := a + 1; b < kernelLength; b++ {
			for c := b + 1; c < kernelLength; c++ {
				out = append(out, [3]int{a, b, c})
			}
		}
	}
	return out
}()

// miniRocket holds a fitted transform: dilations, features per dilation,
// one bias per feature, and for several channels the channels each
// kernel/dilation pair reads (mask[dilation][kernel][channel]).
type miniRocket struct {
	dilations   []int
	perDilation []int
	biases      []float32
	channels    int
	mask        [][][]bool
	pool        sync.Pool // *scratch
}

func newMiniRocket(dilations, perDilation []int64, biases []float32, mask []uint8, channels int) (*miniRocket, error) {
	if len(dilations) != len(perDilation) {
		return nil, fmt.Errorf("%d dilations but %d features-per-dilation counts", len(dilations), len(perDilation))
	}
	m := &miniRocket{biases: slices.Clone(biases), channels: channels}
	for i, b := range m.biases {
		if b == 0 {
			m.biases[i] = 0 // -0 as +0: a comparison takes them alike, above's sign bits would not
		}
	}
	total := 0
	for i, d := range dilations {
		if d < 1 || perDilation[i] < 0 || d > math.MaxInt32 {
			return nil, fmt.Errorf("dilation %d with %d features is not a MiniRocket dilation", d, perDilation[i])
		}
		m.dilations = append(m.dilations, int(d))
		m.perDilation = append(m.perDilation, int(perDilation[i]))
		total += int(perDilation[i]) * len(kernelIndices)
	}
	if total != len(biases) {
		return nil, fmt.Errorf("%d biases for %d features", len(biases), total)
	}
	want := len(dilations) * len(kernelIndices) * channels
	if mask == nil {
		mask = make([]uint8, want)
		for i := range mask {
			mask[i] = 1
		}
	}
	if len(mask) != want {
		return nil, fmt.Errorf("a channel mask of %d values for %d dilations x %d kernels x %d channels",
			len(mask), len(dilations), len(kernelIndices), channels)
	}
	m.mask = make([][][]bool, len(dilations))
	for i := range m.mask {
		m.mask[i] = make([][]bool, len(kernelIndices))
		for k := range m.mask[i] {
			row := mask[(i*len(kernelIndices)+k)*channels:][:channels]
			m.mask[i][k] = make([]bool, channels)
			for c, v := range row {
				m.mask[i][k][c] = v != 0
			}
		}
	}
	return m, nil
}

// features is MiniRocket's PPV features of one signal x [channels][n], zero
// padded at the end: every sum in float32, in the order the server's
// compiled runtime (minirocket_kernels.py) and the graph add them. Only the
// signal's own samples count: up to its last non-zero value in any channel.
func (m *miniRocket) features(x [][]float32, out []float32) {
	length := validLength(x)
	s := m.scratch(length)
	defer m.pool.Put(s)
	count := above
	if overflows(x, length) {
		count = aboveCompared
	}
	feature := 0
	for i, d := range m.dilations {
		for ch := range x {
			taps(x[ch], length, d, s.padded, s.totals[ch], s.tripled[ch])
		}
		lo, hi := 4*d, length-4*d
		if hi <= lo { // too short for an inside: use it all
			lo, hi = 0, length
		}
		for k, where := range kernelIndices {
			s.summed(where, m.mask[i][k])
			seen := s.c
			if (i+k)%2 != 0 { // pairs alternate: every other one sees only the inside, not the zero-padded ends
				seen = s.c[lo:hi]
			}
			counted := float32(len(seen))
			for j := 0; j < m.perDilation[i]; j++ {
				out[feature] = float32(count(seen, m.biases[feature])) / counted
				feature++
			}
		}
	}
}

// validLength is the samples up to and including the last non-zero value
// in any channel, at least 1.
func validLength(x [][]float32) int {
	last := 0
	for _, ch := range x {
		for t := len(ch) - 1; t >= last; t-- {
			if ch[t] != 0 {
				last = t + 1
				break
			}
		}
	}
	return max(last, 1)
}

// scratch is a call's working memory for a signal of length samples, from
// the transform's pool (a stream's windows, all of one length, reuse it).
func (m *miniRocket) scratch(length int) *scratch {
	if s, ok := m.pool.Get().(*scratch); ok && s.fits(m.channels, length) {
		s.trim(length)
		return s
	}
	return newScratch(m.channels, length, 4*slices.Max(m.dilations))
}

func (s *scratch) fits(channels, length int) bool {
	return len(s.totals) == channels && cap(s.c) >= length && cap(s.padded) >= length+2*s.reach
}

// trim sets every buffer's length to length samples.
func (s *scratch) trim(length int) {
	s.c, s.one, s.padded = s.c[:length], s.one[:length], s.padded[:cap(s.padded)]
	for ch := range s.totals {
		s.totals[ch] = s.totals[ch][:length]
		for m := range s.tripled[ch] {
			s.tripled[ch][m] = s.tripled[ch][m][:length]
		}
	}
}

type scratch struct {
	totals  [][]float32    // per channel: -(sum of the nine taps)
	tripled [][9][]float32 // per channel: 3 x each tap
	c, one  []float32
	padded  []float32 // one channel with the widest dilation's zeros on each side
	reach   int
}

func newScratch(channels, length, reach int) *scratch {
	s := &scratch{totals: make([][]float32, channels), tripled: make([][9][]float32, channels),
		c: make([]float32, length), one: make([]float32, length), padded: make([]float32, length+2*reach), reach: reach}
	for ch := range s.totals {
		s.totals[ch] = make([]float32, length)
		for m := range s.tripled[ch] {
			s.tripled[ch][m] = make([]float32, length)
		}
	}
	return s
}

// taps fills total with -(tap0 + tap1 + ... + tap8), added in that order,
// and tripled[m] with 3 x tap m, where tap m at t is x[t + (m-4)d], zero
// outside the signal's first length samples: padded holds the signal with
// 4d zeros on each side, and tap m is its window from m x d.
func taps(x []float32, length, d int, padded, total []float32, tripled [9][]float32) {
	reach := 4 * d
	padded = padded[:length+2*reach]
	clear(padded)
	copy(padded[reach:], x[:length])
	total = total[:length]
	copy(total, padded[:length])
	for m := 1; m < kernelLength; m++ {
		tap := padded[m*d : m*d+length]
		for t := range total {
			total[t] += tap[t]
		}
	}
	for m := 0; m < kernelLength; m++ {
		tap, tr := padded[m*d:m*d+length], tripled[m][:length]
		for t := range tr {
			tr[t] = float32(3 * tap[t]) // the conversion keeps the product from fusing into a later add
		}
	}
	for t := range total {
		total[t] = -total[t]
	}
}

// output is one kernel's output over one channel: ((-sum + 3 tap_a) + 3 tap_b) + 3 tap_c.
func output(total []float32, tripled *[9][]float32, where [3]int, out []float32) {
	n := len(out)
	total = total[:n]
	a, b, c := tripled[where[0]][:n], tripled[where[1]][:n], tripled[where[2]][:n]
	for t := range out {
		out[t] = ((total[t] + a[t]) + b[t]) + c[t]
	}
}

// summed is a kernel's output summed over the channels mask selects, in
// channel order, into s.c.
func (s *scratch) summed(where [3]int, mask []bool) {
	first := true
	for ch, use := range mask {
		if !use {
			continue
		}
		if first {
			output(s.totals[ch], &s.tripled[ch], where, s.c)
			first = false
			continue
		}
		output(s.totals[ch], &s.tripled[ch], where, s.one)
		for t := range s.c {
			s.c[t] += s.one[t]
		}
	}
	if first { // no channel: MiniRocketMultivariate always picks at least one, but an output of zeros is what the sum of none is
		clear(s.c)
	}
}

// overflows says whether a kernel's output could overflow float32: each of
// a channel's outputs is at most 18 x max|x| (-1 x nine taps, +3 x three).
func overflows(x [][]float32, length int) bool {
	var peak float32
	for _, ch := range x {
		for _, v := range ch[:length] {
			peak = max(peak, v, -v)
		}
	}
	return float64(peak)*18*float64(len(x)) >= math.MaxFloat32
}

// aboveCompared counts the values greater than bias, one comparison each:
// for outputs that may be infinite or NaN.
func aboveCompared(values []float32, bias float32) int {
	n := 0
	for _, v := range values {
		if v > bias {
			n++
		}
	}
	return n
}

// above counts the values greater than bias. bias - v is negative exactly
// when v > bias (finite floats: a difference is zero only between equal
// values, and rounding keeps its sign), so the count is a sum of sign bits,
// with no branch to mispredict; four sums at once keep the CPU's adders
// busy. A bias of -0 is taken as +0 when the model is read (as a comparison
// takes it), and outputs are finite (features counts with aboveCompared
// where a sum could overflow).
func above(values []float32, bias float32) int {
	var n0, n1, n2, n3 uint32
	i := 0
	for ; i+4 <= len(values); i += 4 {
		v := values[i : i+4 : i+4]
		n0 += math.Float32bits(bias-v[0]) >> 31
		n1 += math.Float32bits(bias-v[1]) >> 31
		n2 += math.Float32bits(bias-v[2]) >> 31
		n3 += math.Float32bits(bias-v[3]) >> 31
	}
	for ; i < len(values); i++ {
		n0 += math.Float32bits(bias-values[i]) >> 31
	}
	return int(n0 + n1 + n2 + n3)
}
