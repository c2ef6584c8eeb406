package edge

import (
	"slices"

	"github.com/sigop-dev/sigop/go/classify"
)

// rank is one input's classes, best first, the k best (0: all); ties keep
// label order, as the server's stable sort does.
func rank(labels []string, p []float32, k int) []classify.Class {
	order := make([]int, len(p))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case p[a] > p[b]:
			return -1
		case p[a] < p[b]:
			return 1
		}
		return 0
	})
	if k > 0 && k < len(order) {
		order = order[:k]
	}
	out := make([]classify.Class, len(order))
	for i, j := range order {
		out[i] = classify.Class{Label: labels[j], Score: p[j]}
	}
	return out
}
