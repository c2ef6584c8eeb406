package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/sigop-dev/sigop/go/operator"
)

// --json lines use the proto's snake_case names, for windows as for events.
func TestWatchJSONLinesUseTheWireNames(t *testing.T) {
	var out bytes.Buffer
	results := []operator.StreamResult{
		{Window: &operator.StreamWindow{StartSample: 0, EndSample: 1024, Start: 0, End: 1024,
			Classes: []operator.Class{{Label: "red", Score: 0.5}}}},
		{Event: &operator.StreamEvent{Label: "red", Start: 512, Score: 0.5}},
	}
	for _, r := range results {
		if err := printResult(&out, r, true, false); err != nil {
			t.Fatal(err)
		}
	}
	want := `{"window":{"start_sample":0,"end_sample":1024,"start_seconds":0,"end_seconds":1024,"classes":[{"label":"red","score":0.5}]}}
{"event":{"label":"red","start_seconds":512,"start_sample":0,"score":0.5,"previous":"","previous_start_seconds":0,"previous_start_sample":0}}
`
	if out.String() != want {
		t.Fatalf("printed\n%s\nwant\n%s", out.String(), want)
	}
}

// Text lines are in seconds when the stream has a rate, else in samples (a
// spectrum-image model's stream without --rate), never samples as seconds.
func TestWatchPrintsSecondsOnlyWhenTheStreamHasARate(t *testing.T) {
	e := operator.StreamResult{Event: &operator.StreamEvent{Label: "b", Start: 2.5, StartSample: 2500, Score: 0.9,
		Previous: "a", PreviousStart: 0.5, PreviousStartSample: 500}}
	for _, c := range []struct {
		timed bool
		want  string
	}{{true, "2.50\tb\t0.9000\t(a from 0.50)\n"}, {false, "2500\tb\t0.9000\t(a from 500)\n"}} {
		var out bytes.Buffer
		if err := printResult(&out, e, false, c.timed); err != nil || out.String() != c.want {
			t.Errorf("timed %v: %q, %v; want %q", c.timed, out.String(), err, c.want)
		}
	}
}

// A logger's CSV on stdin (a header with a time column, then rows) is rows of
// one channel, not whitespace-separated numbers; plain numbers stay numbers.
func TestStdinCSVIsReadAsRowsEvenForOneChannel(t *testing.T) {
	in, rows := csvLike(strings.NewReader("timestamp,acc\n0.000,1.5\n0.001,-2\n"))
	if !rows {
		t.Fatal("a CSV with a header was not taken as rows")
	}
	chunks, errc := rowChunks(in, 1)
	var got []float64
	for c := range chunks {
		got = append(got, c[0]...)
	}
	if err := <-errc; err != nil || !slices.Equal(got, []float64{1.5, -2}) {
		t.Fatalf("rows %v, %v; want [1.5 -2] (the time column dropped)", got, err)
	}
	in, rows = csvLike(strings.NewReader("1 2 3\n4\n"))
	if rows {
		t.Fatal("whitespace-separated numbers were taken as a CSV")
	}
	numbers, errc := numberChunks(in)
	got = nil
	for c := range numbers {
		got = append(got, c...)
	}
	if err := <-errc; err != nil || !slices.Equal(got, []float64{1, 2, 3, 4}) {
		t.Fatalf("numbers %v, %v; want [1 2 3 4]: the first line read by csvLike is not lost", got, err)
	}
}
