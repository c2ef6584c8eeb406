package edge

import "math"

// smoother turns window scores into label changes, as the server's
// events.Smoother does: the last k windows' scores averaged, the top label
// ("none" below the threshold), "unknown" while the averaged unknown score
// is over the model's threshold, and a change reported once the new label
// has held for its windows. Times are in samples.
type smoother struct {
	labels                  []string
	threshold, hop, window  float64
	unknownThreshold        *float64 // nil: no unknown events
	hold, unknownHold, size int
	recent                  [][]float64
	recentUnknown           []float64
	current                 *string
	since                   float64
	candidate               *string
	first                   float64
	count, over             int
	overFirst               float64
}

// event is a change of label, in samples.
type event struct {
	label         string
	start         float64
	score         float64
	previous      string
	previousStart float64
}

func (s *smoother) push(scores []float32, start float64, unknown *float32) *event {
	s.recent = appendBounded(s.recent, widen(scores), s.size)
	mean := make([]float64, len(scores))
	for _, r := range s.recent {
		for i, v := range r {
			mean[i] += v
		}
	}
	best := 0
	for i := range mean {
		mean[i] /= float64(len(s.recent))
		if mean[i] > mean[best] {
			best = i
		}
	}
	label, score := s.labels[best], mean[best]
	if score < s.threshold {
		label = "none"
	}
	if unknown != nil && s.unknownThreshold != nil {
		s.recentUnknown = appendBounded(s.recentUnknown, float64(*unknown), s.size)
		var smoothed float64
		for _, u := range s.recentUnknown {
			smoothed += u
		}
		smoothed /= float64(len(s.recentUnknown))
		if smoothed <= *s.unknownThreshold {
			s.over = 0
		} else {
			if s.over == 0 {
				s.overFirst = start
			}
			s.over++
			if s.current != nil && *s.current == "unknown" {
				return nil
			}
			if s.over >= s.unknownHold {
				s.first = s.overFirst
				return s.change("unknown", smoothed)
			}
		}
	}
	if s.current != nil && label == *s.current {
		s.candidate = nil
		return nil
	}
	if s.candidate == nil || label != *s.candidate {
		s.candidate, s.first, s.count = &label, start, 0
	}
	s.count++
	if s.count < s.hold {
		return nil
	}
	return s.change(label, score)
}

// change reports label as starting where its first window's middle crossed
// the change, less the smoothing's lag, never before the label it replaces.
func (s *smoother) change(label string, score float64) *event {
	lag := float64(len(s.recent)-1) / 2 * s.hop
	start := s.first
	if s.current != nil {
		start = math.Max(0, s.first+s.window/2-lag)
	}
	start = math.Max(start, s.since)
	e := &event{label: label, start: start, score: score, previousStart: s.since}
	if s.current != nil {
		e.previous = *s.current
	}
	s.current, s.since, s.candidate = &label, start, nil
	return e
}

func appendBounded[T any](q []T, v T, size int) []T {
	q = append(q, v)
	if len(q) > size {
		q = append(q[:0], q[1:]...)
	}
	return q
}

// holdWindows is the consecutive windows a new label must top: one per hop
// of minDuration, at least one.
func holdWindows(minDuration, hop float64) int {
	return max(1, int(math.Ceil(minDuration/hop-1e-9)))
}

// unknownHoldWindows is the windows "unknown" must hold: hold but at least
// two, plus every window a change between two known classes can blur
// (events.unknown_hold_windows).
func unknownHoldWindows(hold, window, hop, smoothing int) int {
	return max(hold, 2) + int(math.Ceil(float64(window)/float64(hop))) - 1 + max(1, smoothing) - 1
}
