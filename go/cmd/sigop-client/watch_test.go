package main

import (
	"bytes"
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
		if err := printResult(&out, r, true); err != nil {
			t.Fatal(err)
		}
	}
	want := `{"window":{"start_sample":0,"end_sample":1024,"start_seconds":0,"end_seconds":1024,"classes":[{"label":"red","score":0.5}]}}
{"event":{"label":"red","start_seconds":512,"score":0.5,"previous":"","previous_start_seconds":0}}
`
	if out.String() != want {
		t.Fatalf("printed\n%s\nwant\n%s", out.String(), want)
	}
}
