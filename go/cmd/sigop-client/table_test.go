package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sigop-dev/sigop/go/operator"
)

func TestReadTableTakesColumnsAsChannelsAndATimeColumnAsTheRate(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       recording
	}{
		{"logger", "timestamp,accX,accY\n1700000000000,1,2\n1700000000020,3,4\n1700000000040,5,6\n",
			recording{channels: [][]float64{{1, 3, 5}, {2, 4, 6}}, rate: 50, names: []string{"accX", "accY"}}},
		{"seconds", "Time (s);left;right\n0.0;1;2\n0.5;3;4\n", recording{channels: [][]float64{{1, 3}, {2, 4}}, rate: 2,
			names: []string{"left", "right"}}},
		{"no header, columns", "1 2 3\n4 5 6\n", recording{channels: [][]float64{{1, 4}, {2, 5}, {3, 6}}}},
		{"no header, one row", "1,2,3,4\n", recording{channels: [][]float64{{1, 2, 3, 4}}}},
		{"no header, one column", "1\n2\n3\n", recording{channels: [][]float64{{1, 2, 3}}}},
	} {
		got, err := readTable(strings.NewReader(tc.text), "x.csv")
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: readTable = %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	for _, bad := range []struct{ text, says string }{
		{"timestamp,x\n5,1\n4,2\n", "does not increase"},
		{"x,y\n1,2\nfoo,3\n", `line 3: "foo" is not a number`},
		{"x,y\n1,2\n3\n", "line 3: 1 values, expected 2"},
		{"timestamp\n1\n2\n", "only a time column"},
	} {
		if _, err := readTable(strings.NewReader(bad.text), "x.csv"); err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("readTable(%q) = %v; want an error saying %q", bad.text, err, bad.says)
		}
	}
}

func TestReadRecordingRefusesSamplesByChannels(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, shape []int, v ...float64) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, npyBytes("<f8", false, shape, f64le(v...)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wide := write("wide.npy", []int{2, 3}, 1, 2, 3, 4, 5, 6)
	if r, err := readRecording(wide, 2); err != nil || !reflect.DeepEqual(r.channels, [][]float64{{1, 2, 3}, {4, 5, 6}}) {
		t.Fatalf("[2, 3] for 2 channels: %+v, %v", r, err)
	}
	tall := write("tall.npy", []int{3, 2}, 1, 2, 3, 4, 5, 6)
	if _, err := readRecording(tall, 2); err == nil || !strings.Contains(err.Error(), "looks like [samples, channels]") {
		t.Fatalf("[3, 2] for 2 channels: %v; want it refused as [samples, channels]", err)
	}
	if r, err := readRecording(tall, 3); err != nil || len(r.channels) != 3 {
		t.Fatalf("[3, 2] for 3 channels (a short window): %+v, %v", r, err)
	}
	logger := write("logger.npy", []int{8, 2}, make([]float64, 16)...)
	if _, err := readRecording(logger, 0); err == nil {
		t.Fatal("[8, 2] with no count expected: read; want it refused as [samples, channels]")
	}
}

func TestByShapeGroupsSignalsByShapeAndStatedRate(t *testing.T) {
	signals := []input{
		{channels: [][]float64{{1, 2}, {3, 4}}, rate: 50},
		{channels: [][]float64{{1, 2}, {3, 4}}},
		{channels: [][]float64{{1, 2, 3}, {3, 4, 5}}},
		{channels: [][]float64{{5, 6}, {7, 8}}, rate: 50},
	}
	var calls []string
	r, err := byShape(signals, 0, func(same [][][]float64, rate float64) (*operator.Result, error) {
		calls = append(calls, fmt.Sprintf("%d@%g", len(same), rate))
		out := &operator.Result{}
		for _, x := range same {
			out.Classes = append(out.Classes, []operator.Class{{Label: fmt.Sprintf("%g", rate)}})
			out.Unknown = append(out.Unknown, operator.Unknown{Score: float32(x[0][0] + x[1][1]), Unknown: x[0][0] > 1})
		}
		return out, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(calls, " ") != "2@50 1@0 1@0" {
		t.Fatalf("calls %v; want the two 50 Hz signals together, then each other shape", calls)
	}
	var labels []string
	for _, c := range r.Classes {
		labels = append(labels, c[0].Label)
	}
	if strings.Join(labels, ",") != "50,0,0,50" {
		t.Fatalf("rankings %v; want them back in the signals' order", labels)
	}
	if fmt.Sprint(r.Unknown) != "[{5 false} {5 false} {5 false} {13 true}]" {
		t.Fatalf("unknown scores %v; want each signal's, in the signals' order", r.Unknown)
	}
	if _, err := byShape(signals[:1], 100, nil); err == nil || !strings.Contains(err.Error(), "time column says 50 Hz") {
		t.Fatalf("--sample-rate 100 for a file stating 50 Hz: %v; want a refusal", err)
	}
}

func TestRowChunksDropsTheTimeColumnAndChecksChannels(t *testing.T) {
	chunks, errc := rowChunks(strings.NewReader("timestamp,x,y,z\n0,1,2,3\n10,4,5,6\n"), 3)
	var got [][]float64
	for c := range chunks {
		for ch := range c {
			for len(got) <= ch {
				got = append(got, nil)
			}
			got[ch] = append(got[ch], c[ch]...)
		}
	}
	if err := <-errc; err != nil || !reflect.DeepEqual(got, [][]float64{{1, 4}, {2, 5}, {3, 6}}) {
		t.Fatalf("rowChunks = %v, %v", got, err)
	}
	chunks, errc = rowChunks(strings.NewReader("1,2\n"), 3)
	for range chunks {
	}
	if err := <-errc; err == nil || !strings.Contains(err.Error(), "2 values; the model takes 3 channels") {
		t.Fatalf("a row of 2 values for 3 channels: %v", err)
	}
}
