package bridge

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestPayloadsAsDevicesSendThem(t *testing.T) {
	names := []string{"x", "y", "z"}
	for _, c := range []struct {
		payload string
		want    string // the columns, or the error's words
	}{
		{`{"x": 1, "y": 2, "z": 3}`, "[[1] [2] [3]]"},
		{`[1, 2, 3]`, "[[1] [2] [3]]"},
		{`{"seq": 4, "samples": [[1, 2, 3], [4, 5, 6]]}`, "[[1 4] [2 5] [3 6]]"},
		{`{"samples": [{"x": 1, "y": 2, "z": 3}, [4, 5, 6]]}`, "[[1 4] [2 5] [3 6]]"},
		{`{"samples": {"x": [1, 4], "y": [2, 5], "z": [3, 6]}}`, "[[1 4] [2 5] [3 6]]"},
		{`[[1, 2, 3], [4, 5, 6]]`, "[[1 4] [2 5] [3 6]]"},
		{`{"samples": [[1, 2]]}`, "samples[0]: a sample of 2 channels; the model takes 3"},
		{`{"samples": {"x": [1], "y": [2]}}`, `no array for channel "z"`},
		{`{"samples": [[NaN, 0, 0]]}`, "not JSON"},
		{`{"x": 1}`, "a sample of 1 channels; the model takes 3"},
		{`{"samples": [["a", 0, 0]]}`, "channel 0 is a, not a number"},
	} {
		f, err := decode("json", []byte(c.payload), 3, names)
		got := fmt.Sprint(f.samples)
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: %s; want %s", c.payload, got, c.want)
		}
	}
	f, err := decode("json", []byte(`{"seq": 9, "t": 12.5, "samples": [0.5, 0.25]}`), 1, nil)
	if err != nil || *f.seq != 9 || *f.time != 12.5 || len(f.samples[0]) != 2 {
		t.Errorf("one channel's block with seq and t: %+v, %v", f, err)
	}
	raw := make([]byte, 24)
	for i, v := range []float32{1, 2, 3, 4, 5, float32(math.NaN())} {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	if f, err := decode("f32", raw, 3, nil); err != nil || f.samples[2][0] != 3 || f.samples[0][1] != 4 || !math.IsNaN(f.samples[2][1]) {
		t.Errorf("f32 rows: %v, %v", f.samples, err)
	}
	if _, err := decode("f64", raw[:20], 3, nil); err == nil || !strings.Contains(err.Error(), "not whole rows") {
		t.Errorf("20 bytes of f64 rows: %v", err)
	}
}
