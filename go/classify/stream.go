package classify

import (
	"fmt"
	"math"
)

// StreamConfig says how a stream is cut into windows and how their results
// become events. Windows are the model's own length.
//
// Times are seconds when the stream has a rate: a waveform model's own (or
// SampleRate's, resampled), or for a spectrum-image model, which draws
// windows by FFT bin and has no rate, the SampleRate option given to the
// stream (its clock only). A stream without a rate counts in samples: Hop
// and MinDuration are samples, and the results' Start and End are 0 (read
// StartSample).
type StreamConfig struct {
	Hop              float64 // seconds between windows (samples without a rate); 0: one window
	SmoothingWindows int     // scores averaged over this many windows (at most 1024) before labelling; 0 or 1: none
	MinDuration      float64 // a new label must top this long (seconds, or samples without a rate; one window per hop) before its event
	Threshold        float64 // a smoothed top score below it is labelled "none"; 0: never
	UnknownEvents    bool    // report "unknown" events from the model's unknown score (windows carry it either way)
}

// Check refuses what no stream takes: a negative, NaN or infinite hop,
// minimum duration or threshold.
func (cfg StreamConfig) Check() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"hop", cfg.Hop}, {"minimum duration", cfg.MinDuration}, {"threshold", cfg.Threshold}} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%s %g; expected 0 or a positive number", f.name, f.v)
		}
	}
	return nil
}

// StreamWindow is one window's classification.
type StreamWindow struct {
	StartSample int64    `json:"start_sample"`  // in the stream's samples
	EndSample   int64    `json:"end_sample"`    // exclusive
	Start       float64  `json:"start_seconds"` // seconds; 0 for a stream without a rate
	End         float64  `json:"end_seconds"`
	Classes     []Class  `json:"classes"`
	Unknown     *Unknown `json:"unknown,omitempty"` // nil for a model without an unknown score
}

// StreamEvent is a change of the smoothed label: Label holds from Start;
// Previous held from PreviousStart to Start. Start is the change estimated
// within one hop (where a window's label flips, less smoothing's lag), and
// never before PreviousStart. Times are seconds, or 0 for a stream without a
// rate: StartSample and PreviousStartSample always count samples.
type StreamEvent struct {
	// "none" below the threshold, or the model's own "none" class; "unknown"
	// while the smoothed unknown score is above the model's threshold (Score is
	// then that score): the signal looks like none of the training classes.
	Label               string  `json:"label"`
	Start               float64 `json:"start_seconds"`
	StartSample         int64   `json:"start_sample"`
	Score               float32 `json:"score"`
	Previous            string  `json:"previous"` // empty for the stream's first event
	PreviousStart       float64 `json:"previous_start_seconds"`
	PreviousStartSample int64   `json:"previous_start_sample"`
}

// StreamResult is either a window's result or an event, with the model
// and version that answered (the same for the whole stream).
type StreamResult struct {
	Window  *StreamWindow
	Event   *StreamEvent
	Model   string
	Version int64
}
