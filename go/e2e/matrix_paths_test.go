//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sigop-dev/sigop/go/operator"
)

// hop is a quarter of a window: in seconds for a stream with a rate, else in samples.
func (mc matrixCase) hop(timed bool) float64 {
	samples := float64(mc.samples() / 4)
	if timed {
		return samples / mc.hz()
	}
	return samples
}

// clientClassify: sigop-client classify-signal (classify-audio for sound)
// on the test files, and on one signal (or one per line) from stdin.
func (mc matrixCase) clientClassify(t *testing.T, client, addr string, top []string) {
	var files, truth []string
	for i, label := range mc.labels {
		files = append(files, filepath.Join(mc.test, label, fmt.Sprintf("%03d%s", i, mc.ext())))
		truth = append(truth, label)
	}
	verb := "classify-signal"
	if mc.ext() == ".wav" {
		verb = "classify-audio"
	}
	args := []string{verb, "--addr", addr, "--model", mc.name(), "--top", "1", "--json"}
	expectSame(t, "sigop-client "+verb, clientLabels(t, exec.Command(client, append(args, files...)...)), top)

	// stdin: a one-channel model's signals one per line; a table (header, one row per sample) for several
	// channels or a logger's CSV
	var in strings.Builder
	one := -1 // the one signal piped, or -1: all of them, one per line
	switch {
	case mc.rate == "timestamp":
		in.WriteString(timestampCSV(mc.signals[5], mc.hz()))
		one = 5
	case mc.channels > 1:
		in.WriteString(table(mc.signals[10]))
		one = 10
	default:
		for _, s := range mc.signals {
			in.WriteString(numbers(s[0], " ") + "\n")
		}
		if mc.ext() == ".wav" {
			args[0] = "classify-signal"
			args = append(args, "--sample-rate", fmt.Sprint(soundRate))
		}
	}
	cmd := exec.Command(client, args...)
	cmd.Stdin = strings.NewReader(in.String())
	got := clientLabels(t, cmd)
	if one >= 0 {
		expectSame(t, "classify-signal from stdin", got, []string{top[one]})
		return
	}
	expectSame(t, "classify-signal from stdin", got, top)
}

func clientLabels(t *testing.T, cmd *exec.Cmd) []string {
	t.Helper()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args[:2], " "), err, stderrOf(err))
	}
	var top []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r struct{ Classes []operator.Class }
		if err := json.Unmarshal([]byte(line), &r); err != nil || len(r.Classes) == 0 {
			t.Fatalf("%q: %v", line, err)
		}
		top = append(top, r.Classes[0].Label)
	}
	return top
}

// table is x as a CSV with a header naming its channels, one row per sample.
func table(x [][]float64) string {
	var b strings.Builder
	b.WriteString(strings.Join(axes[:len(x)], ",") + "\n")
	for i := range x[0] {
		row := make([]float64, len(x))
		for ch := range x {
			row[ch] = x[ch][i]
		}
		b.WriteString(numbers(row, ",") + "\n")
	}
	return b.String()
}

func numbers(x []float64, sep string) string {
	s := make([]string, len(x))
	for i, v := range x {
		s[i] = fmt.Sprintf("%.6f", v)
	}
	return strings.Join(s, sep)
}

// clientWatch: sigop-client watch on the recording as a file of the cell's
// form and from stdin: class a from the start, class b within one hop of the change.
func (mc matrixCase) clientWatch(t *testing.T, client, addr string, m operator.ModelVersion, goEvents []string) {
	file := filepath.Join(t.TempDir(), "recording"+mc.ext())
	mc.write(t, file, mc.recording)
	fileRate := mc.rate == "timestamp" || mc.rate == "header"
	for _, from := range []string{"file", "stdin"} {
		t.Run(from, func(t *testing.T) {
			args := []string{"watch", "--addr", addr, "--model", mc.name(), "--json"}
			// a rate the stream would not otherwise have: as a user who knows the device's rate says it
			given := m.SampleRate == 0 && mc.hz() != 0 && !(from == "file" && fileRate)
			if given {
				args = append(args, "--rate", fmt.Sprint(mc.hz()))
			}
			timed := mc.hz() != 0
			args = append(args, "--hop", fmt.Sprint(mc.hop(timed)))
			cmd := exec.Command(client, args...)
			if from == "file" {
				cmd.Args = append(cmd.Args, file)
			} else {
				cmd.Stdin = strings.NewReader(mc.stdinRecording())
			}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, stderrOf(err))
			}
			var events []operator.StreamEvent
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			for sc.Scan() {
				var r struct{ Event *operator.StreamEvent }
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					t.Fatalf("%q: %v", sc.Text(), err)
				}
				if r.Event != nil {
					events = append(events, *r.Event)
				}
			}
			if got := mc.expectChange(t, events, timed); !slices.Equal(got, goEvents) {
				t.Fatalf("sigop-client watch's events %v; Go Watch's %v", got, goEvents)
			}
		})
	}
}

// stdinRecording is the recording as a user pipes it: a logger's CSV, a
// table of channels, or lines of numbers.
func (mc matrixCase) stdinRecording() string {
	switch {
	case mc.rate == "timestamp":
		return timestampCSV(mc.recording, mc.hz())
	case mc.channels > 1:
		return table(mc.recording)
	}
	var b strings.Builder
	for i := 0; i < len(mc.recording[0]); i += 100 {
		b.WriteString(numbers(mc.recording[0][i:min(i+100, len(mc.recording[0]))], " ") + "\n")
	}
	return b.String()
}

// goWatch: Watch (WatchMultichannel) in chunks, the cell's rate as the stream's clock.
func (mc matrixCase) goWatch(t *testing.T, ctx context.Context, c *operator.Client) []string {
	timed := mc.hz() != 0
	chunks := make(chan [][]float64)
	go func() {
		defer close(chunks)
		step := mc.samples() / 5
		for i := 0; i < len(mc.recording[0]); i += step {
			chunk := make([][]float64, mc.channels)
			for ch := range chunk {
				chunk[ch] = mc.recording[ch][i:min(i+step, len(mc.recording[ch]))]
			}
			select {
			case chunks <- chunk:
			case <-ctx.Done():
				return
			}
		}
	}()
	cfg := operator.StreamConfig{Hop: mc.hop(timed), SmoothingWindows: 3}
	var results <-chan operator.StreamResult
	var done <-chan error
	opts := []operator.CallOption{operator.SampleRate(mc.hz())}
	if mc.channels > 1 {
		results, done = c.WatchMultichannel(ctx, cfg, chunks, opts...)
	} else {
		samples := make(chan []float64)
		go func() {
			defer close(samples)
			for chunk := range chunks {
				samples <- chunk[0]
			}
		}()
		results, done = c.Watch(ctx, cfg, samples, opts...)
	}
	var events []operator.StreamEvent
	for r := range results {
		if r.Event != nil {
			events = append(events, *r.Event)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return mc.expectChange(t, events, timed)
}

// expectChange: events in order, the first from 0, times in seconds (their samples
// over the rate) when timed, else 0; for a recipe held to accuracy, b next,
// within one hop of the change. It returns the events as label@sample.
func (mc matrixCase) expectChange(t *testing.T, events []operator.StreamEvent, timed bool) []string {
	t.Helper()
	var seen []string
	for _, e := range events {
		seen = append(seen, fmt.Sprintf("%s@%d", e.Label, e.StartSample))
	}
	if len(events) == 0 || events[0].StartSample != 0 || events[0].Previous != "" || (mc.accurate() && events[0].Label != "a") {
		t.Fatalf("events %v; want the first from 0 (a, for a recipe held to accuracy)", seen)
	}
	for i, e := range events {
		seconds := 0.0
		if timed {
			seconds = float64(e.StartSample) / mc.hz()
		}
		if !within(e.Start, seconds, 1e-6) || (i > 0 && (e.StartSample < events[i-1].StartSample ||
			e.PreviousStartSample != events[i-1].StartSample)) {
			t.Fatalf("events %v: event %d at %g s, sample %d; want seconds %g and events in order", seen, i, e.Start,
				e.StartSample, seconds)
		}
	}
	hopSamples := float64(mc.samples() / 4)
	if mc.accurate() && (len(events) < 2 || events[1].Label != "b" ||
		!within(float64(events[1].StartSample), float64(mc.change), hopSamples)) {
		t.Fatalf("events %v; want a from 0, then b within %g samples of %d", seen, hopSamples, mc.change)
	}
	t.Logf("events %v (change at sample %d)", seen, mc.change)
	return seen
}

// evaluate: sigop evaluate on the test files, and with --unknown-data, both with the LiteRT copy beside.
func (mc matrixCase) evaluate(t *testing.T, model string, top []string) {
	right := 0
	for i, label := range top {
		if label == mc.labels[i] {
			right++
		}
	}
	goAccuracy := float64(right) / float64(len(mc.labels))
	for _, unknown := range []bool{false, true} {
		args := []string{"evaluate", "--model", model, "--data", mc.test, "--json", "--out", t.TempDir()}
		if unknown {
			args = append(args, "--unknown-data", mc.unknown)
		}
		out, err := exec.Command(os.Getenv("SIGOP_BIN"), args...).Output()
		if err != nil {
			t.Fatalf("sigop %s: %v\n%s", strings.Join(args, " "), err, stderrOf(err))
		}
		var r struct {
			Accuracy  float64
			Lite      map[string]any
			Agreement map[string]any
			Unknown   *struct{ Auroc float64 }
		}
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("sigop evaluate --json: %v\n%s", err, out)
		}
		if !within(r.Accuracy, goAccuracy, 1e-9) || len(r.Lite)+len(r.Agreement) == 0 || unknown != (r.Unknown != nil) {
			t.Fatalf("sigop %s: %s; want ClassifySignal's accuracy from Go (%.3f), the LiteRT copy compared, "+
				"unknown metrics iff --unknown-data", strings.Join(args, " "), out, goAccuracy)
		}
		if unknown {
			t.Logf("evaluate --unknown-data: accuracy %.3f, AUROC %.3f", r.Accuracy, r.Unknown.Auroc)
		}
	}
}
