package signal

import "sort"

// Peak is a local maximum of a spectrum.
type Peak struct {
	Bin       int
	Magnitude float64
}

// Peaks returns the k largest local maxima of mag (a bin greater than both
// neighbours; the ends count against their one neighbour), largest first.
func Peaks(mag []float64, k int) []Peak {
	var out []Peak
	for i, v := range mag {
		if (i == 0 || v > mag[i-1]) && (i == len(mag)-1 || v > mag[i+1]) {
			out = append(out, Peak{Bin: i, Magnitude: v})
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Magnitude > out[b].Magnitude })
	if len(out) > k {
		out = out[:k]
	}
	return out
}
