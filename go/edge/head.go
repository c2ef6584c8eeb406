package edge

import (
	"fmt"
	"math"
)

// head turns a signal's features into logits: the ridge classifier on
// standardised features, or for a one-class model the features' distance
// from its training files' principal subspace.
type head struct {
	mean, scale []float32 // per feature
	kernel      []float32 // [features][classes]
	bias        []float32 // [classes]
	basis       []float32 // one-class: [dimensions][features]; nil otherwise
	dimensions  int
}

func (h *head) classes() int { return len(h.bias) }

// logits of one signal's features f, with z of the same length to work in.
// Standardising is float32, as the
// server's numpy does, so it agrees to the bit; the dot products are summed
// in float64 (the server's BLAS sums float32 in blocks of its own order).
func (h *head) logits(f, z []float32, out []float64) {
	z = z[:len(f)]
	for i, v := range f {
		z[i] = v - h.mean[i]
	}
	if h.basis != nil {
		out[0] = h.residual(z)
		return
	}
	k := h.classes()
	clear(out)
	for i, v := range z {
		s := float64(float32(v * h.scale[i]))
		row := h.kernel[i*k : (i+1)*k]
		for c := range out {
			out[c] += s * float64(row[c])
		}
	}
	for c := range out {
		out[c] = float64(float32(out[c]) + h.bias[c])
	}
}

// residual is |z - (z B') B|: how far z lies from the subspace B spans.
func (h *head) residual(z []float32) float64 {
	n := len(z)
	coef := make([]float64, h.dimensions)
	for d := range coef {
		row := h.basis[d*n : (d+1)*n]
		for i, v := range z {
			coef[d] += float64(v) * float64(row[i])
		}
	}
	var sum float64
	for i, v := range z {
		r := float64(v)
		for d, c := range coef {
			r -= c * float64(h.basis[d*n+i])
		}
		sum += r * r
	}
	return float64(float32(math.Sqrt(sum)))
}

// softmax of logits, as float32 probabilities.
func softmax(logits []float64, out []float32) {
	top := math.Inf(-1)
	for _, l := range logits {
		top = max(top, l)
	}
	var sum float64
	e := make([]float64, len(logits))
	for i, l := range logits {
		e[i] = math.Exp(l - top)
		sum += e[i]
	}
	for i := range e {
		out[i] = float32(e[i] / sum)
	}
}

// unknownScore is how unlike the training files an input is, from its
// logits, in units of the threshold (unknown.py).
type unknownScore struct {
	method    string
	scale     float64
	threshold float64
	rate      float64
	means     []float64 // logit_mahalanobis: [classes][classes]
	precision []float64 // [classes][classes]
}

func (u *unknownScore) check(classes int) error {
	switch u.method {
	case "residual", "max_softmax":
	case "logit_mahalanobis":
		if len(u.means) != classes*classes || len(u.precision) != classes*classes {
			return fmt.Errorf("the unknown score's class means (%d values) and precision (%d) are not %d x %d",
				len(u.means), len(u.precision), classes, classes)
		}
	default:
		return fmt.Errorf("unknown score method %q is not one this runtime computes (logit_mahalanobis, max_softmax, residual)", u.method)
	}
	if !(u.scale > 0) {
		return fmt.Errorf("unknown score scale %g; expected a positive number", u.scale)
	}
	return nil
}

// raw is the score before it is divided by its scale.
func (u *unknownScore) raw(logits []float64) float64 {
	switch u.method {
	case "residual":
		return logits[0]
	case "max_softmax": // -log(max softmax), as log1p of the other classes' exp(l - max)
		best := 0
		for i, l := range logits {
			if l > logits[best] {
				best = i
			}
		}
		var others float64
		for i, l := range logits {
			if i != best {
				others += math.Exp(l - logits[best])
			}
		}
		return math.Log1p(others)
	}
	k := len(logits)
	nearest := math.Inf(1)
	d := make([]float64, k)
	for c := 0; c < k; c++ {
		for i := range d {
			d[i] = logits[i] - u.means[c*k+i]
		}
		var q float64
		for i := range d {
			var row float64
			for j := range d {
				row += u.precision[i*k+j] * d[j]
			}
			q += d[i] * row
		}
		nearest = min(nearest, q)
	}
	return math.Sqrt(max(nearest, 0))
}

// score is the unknown score in the threshold's units, and whether it is over.
func (u *unknownScore) score(logits []float64) (float32, bool) {
	s := float32(u.raw(logits) / u.scale)
	return s, float64(s) > u.threshold
}
