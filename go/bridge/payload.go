package bridge

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
)

// frame is one message's samples, [channels][n], and where it says they
// belong: its sequence number and the time of its first sample, if given.
type frame struct {
	samples [][]float64
	seq     *int64
	time    *float64 // seconds
}

// message is the JSON object form: {"seq": 7, "t": 1733600000.5, "samples": ...}.
type message struct {
	Seq     *int64          `json:"seq"`
	Time    *float64        `json:"t"`
	Samples json.RawMessage `json:"samples"`
}

// decode reads a payload of the route's format for a model of these
// channels (names as the model's manifest gives them, or none).
func decode(format string, payload []byte, channels int, names []string) (frame, error) {
	switch format {
	case "f32", "f64":
		return decodeBinary(format, payload, channels)
	}
	payload = bytes.TrimSpace(payload)
	if len(payload) > 0 && payload[0] == '{' {
		var m message
		if err := json.Unmarshal(payload, &m); err != nil {
			return frame{}, fmt.Errorf("not JSON: %w", err)
		}
		if m.Samples == nil { // {"x": 0.1, "y": 0.2, "z": 0.3}: one sample, channels by name
			s, err := sampleByName(payload, channels, names)
			return frame{samples: columns([][]float64{s}, channels)}, err
		}
		rows, err := decodeRows(m.Samples, channels, names)
		if err != nil {
			return frame{}, err
		}
		return frame{samples: rows, seq: m.Seq, time: m.Time}, nil
	}
	rows, err := decodeRows(payload, channels, names)
	return frame{samples: rows}, err
}

// decodeRows reads samples: a number (one sample of one channel), an array
// of numbers (one channel: a block of samples; several: one sample by
// position), an array of rows (each a number, an array by position or an
// object by name), or an object of channel name -> array of samples.
func decodeRows(data json.RawMessage, channels int, names []string) ([][]float64, error) {
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 1 && t[0] == '[' && bytes.TrimLeft(t[1:], " \t\r\n")[0] == '[' {
		var rows [][]float64 // the common form, rows by position, without the generic decoder
		if json.Unmarshal(t, &rows) == nil {
			for i, r := range rows {
				if err := wantChannels(len(r), channels); err != nil {
					return nil, fmt.Errorf("samples[%d]: %w", i, err)
				}
			}
			return columns(rows, channels), nil
		}
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	switch x := v.(type) {
	case float64:
		return columns([][]float64{{x}}, channels), wantChannels(1, channels)
	case map[string]any:
		out := make([][]float64, channels)
		if len(names) != channels {
			return nil, fmt.Errorf("samples by channel name, but the model's %d channels have no names; send rows by position", channels)
		}
		for c, name := range names {
			col, ok := x[name].([]any)
			if !ok {
				return nil, fmt.Errorf("samples: no array for channel %q (the model's channels are %v)", name, names)
			}
			for i, e := range col {
				f, ok := e.(float64)
				if !ok {
					return nil, fmt.Errorf("samples[%q][%d] is %v, not a number", name, i, e)
				}
				out[c] = append(out[c], f)
			}
			if len(out[c]) != len(out[0]) {
				return nil, fmt.Errorf("channel %q has %d samples, %q has %d", name, len(out[c]), names[0], len(out[0]))
			}
		}
		if len(x) != channels {
			return nil, fmt.Errorf("samples name %d channels; the model takes %d (%v)", len(x), channels, names)
		}
		return out, nil
	case []any:
		var rows [][]float64
		if allNumbers(x) && channels == 1 { // a block of one channel's samples
			row := make([]float64, len(x))
			for i, e := range x {
				row[i] = e.(float64)
			}
			return [][]float64{row}, nil
		}
		if allNumbers(x) { // one sample by position
			x = []any{x}
		}
		for i, e := range x {
			s, err := sample(e, channels, names)
			if err != nil {
				return nil, fmt.Errorf("samples[%d]: %w", i, err)
			}
			rows = append(rows, s)
		}
		return columns(rows, channels), nil
	}
	return nil, fmt.Errorf("samples: expected a number, an array or an object, got %v", v)
}

// sample is one row: a number, an array by position, or an object by name.
func sample(e any, channels int, names []string) ([]float64, error) {
	switch x := e.(type) {
	case float64:
		return []float64{x}, wantChannels(1, channels)
	case []any:
		if err := wantChannels(len(x), channels); err != nil {
			return nil, err
		}
		out := make([]float64, len(x))
		for i, v := range x {
			f, ok := v.(float64)
			if !ok {
				return nil, fmt.Errorf("channel %d is %v, not a number", i, v)
			}
			out[i] = f
		}
		return out, nil
	case map[string]any:
		b, _ := json.Marshal(x)
		return sampleByName(b, channels, names)
	}
	return nil, fmt.Errorf("%v is not a sample (a number, an array by position or an object by channel name)", e)
}

func sampleByName(payload []byte, channels int, names []string) ([]float64, error) {
	var m map[string]float64
	if err := json.Unmarshal(payload, &m); err != nil {
		return nil, fmt.Errorf("a sample by channel name needs a number per channel: %w", err)
	}
	if len(names) != channels {
		return nil, fmt.Errorf("a sample by channel name, but the model's %d channels have no names; send it by position", channels)
	}
	if len(m) != channels {
		return nil, fmt.Errorf("a sample of %d channels; the model takes %d (%v)", len(m), channels, names)
	}
	out := make([]float64, channels)
	for c, name := range names {
		v, ok := m[name]
		if !ok {
			return nil, fmt.Errorf("no value for channel %q (the model's channels are %v)", name, names)
		}
		out[c] = v
	}
	return out, nil
}

func allNumbers(x []any) bool {
	for _, e := range x {
		if _, ok := e.(float64); !ok {
			return false
		}
	}
	return len(x) > 0
}

func wantChannels(got, want int) error {
	if got != want {
		return fmt.Errorf("a sample of %d channels; the model takes %d", got, want)
	}
	return nil
}

// columns turns rows [n][channels] into [channels][n].
func columns(rows [][]float64, channels int) [][]float64 {
	out := make([][]float64, channels)
	for _, r := range rows {
		for c := range out {
			if c < len(r) {
				out[c] = append(out[c], r[c])
			}
		}
	}
	return out
}

// decodeBinary reads little-endian float32 or float64 rows [n][channels].
func decodeBinary(format string, payload []byte, channels int) (frame, error) {
	width := 4
	if format == "f64" {
		width = 8
	}
	row := width * channels
	if len(payload) == 0 || len(payload)%row != 0 {
		return frame{}, fmt.Errorf("%d bytes are not whole rows of %d %s values (%d bytes a row)", len(payload), channels, format, row)
	}
	n := len(payload) / row
	out := make([][]float64, channels)
	for c := range out {
		out[c] = make([]float64, n)
	}
	for i := range n {
		for c := range channels {
			at := payload[(i*channels+c)*width:]
			if width == 4 {
				out[c][i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(at)))
			} else {
				out[c][i] = math.Float64frombits(binary.LittleEndian.Uint64(at))
			}
		}
	}
	return frame{samples: out}, nil
}
