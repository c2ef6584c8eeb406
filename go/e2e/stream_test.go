//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sigop-dev/sigop/go/operator"
	"github.com/sigop-dev/sigop/go/signal"
)

// sigopClient runs the command-line client as a user does, from its own
// module, whose go.sum holds the WAV and FLAC decoders this one lacks.
func sigopClient(args ...string) *exec.Cmd {
	cmd := exec.Command("go", append([]string{"run", "./cmd/sigop-client"}, args...)...)
	cmd.Dir = ".."
	return cmd
}

// switchingDevice is 8 red article signals followed by 8 blue ones, generated
// in Go: a device that changes class at sample 8 × 1024.
func switchingDevice(t *testing.T) []float64 {
	t.Helper()
	g, err := signal.NewGenerator(signal.DefaultParams(), 21)
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, class := range []signal.Class{signal.Classes[0], signal.Classes[1]} {
		for range 8 {
			x, _ := g.Signal(class)
			out = append(out, x...)
		}
	}
	return out
}

// Client.Watch: chunks of random sizes in, one event per class out, the
// switch within one hop of the truth, and every window reported.
func TestWatchReportsADeviceSwitchingClass(t *testing.T) {
	x := switchingDevice(t)
	c := dialClassifier(t, operator.WithTopK(1))
	chunks := make(chan []float64)
	go func() {
		defer close(chunks)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < len(x); {
			n := min(1+rng.IntN(3000), len(x)-i)
			chunks <- x[i : i+n]
			i += n
		}
	}()
	results, done := c.Watch(ctxT(t), operator.StreamConfig{Hop: 512, SmoothingWindows: 3}, chunks)
	var events []operator.StreamEvent
	windows := 0
	for r := range results {
		switch {
		case r.Window != nil:
			if r.Window.StartSample != int64(512*windows) || len(r.Window.Classes) != 1 {
				t.Fatalf("window %d: %+v; want start %d and the top label", windows, r.Window, 512*windows)
			}
			windows++
		case r.Event != nil:
			events = append(events, *r.Event)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	red, blue := signal.Classes[0].Name, signal.Classes[1].Name
	if want := (len(x)-1024)/512 + 1; windows != want {
		t.Fatalf("%d windows; want %d", windows, want)
	}
	if len(events) != 2 || events[0].Label != red || events[1].Label != blue || events[1].Previous != red ||
		events[1].PreviousStartSample != events[0].StartSample || events[1].Start != 0 {
		t.Fatalf("events %+v; want %s, then %s replacing it", events, red, blue)
	}
	if d := math.Abs(float64(events[1].StartSample - 8*1024)); d > 512 { // no rate: samples, and 0 seconds
		t.Fatalf("the switch reported at sample %d, %g from the truth; want within one hop (512)", events[1].StartSample, d)
	}
}

// sigop-client watch reads numbers from stdin and prints events as JSON lines.
func TestSigopClientWatchFromStdin(t *testing.T) {
	x := switchingDevice(t)
	var in bytes.Buffer
	for i, v := range x {
		fmt.Fprintf(&in, "%g", v)
		if i%100 == 99 {
			in.WriteByte('\n')
		} else {
			in.WriteByte(' ')
		}
	}
	cmd := sigopClient("watch", "--addr", addr, "--model", "article", "--hop", "512", "--json", "-")
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sigop-client watch: %v", err)
	}
	var labels []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var line struct{ Event *operator.StreamEvent }
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Event == nil {
			t.Fatalf("sigop-client watch printed %q (%v); want one event per line", sc.Text(), err)
		}
		labels = append(labels, line.Event.Label)
	}
	if want := signal.Classes[0].Name + " " + signal.Classes[1].Name; strings.Join(labels, " ") != want {
		t.Fatalf("events %v; want %s", labels, want)
	}
}

// A WAV file shorter than the model's window is one padded window, scored as
// ClassifyAudio scores the same file.
func TestSigopClientWatchWAVMatchesClassifyAudio(t *testing.T) {
	files, _ := unheard(t)
	out, err := sigopClient("watch", "--addr", addr, "--model", "digits", "--windows", "--json", files[0]).Output()
	if err != nil {
		t.Fatalf("sigop-client watch %s: %v", files[0], err)
	}
	var window *operator.StreamWindow
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var line struct{ Window *operator.StreamWindow }
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("sigop-client watch printed %q: %v", sc.Text(), err)
		}
		if line.Window != nil {
			if window != nil {
				t.Fatalf("a second window %+v; a clip shorter than the model's window is one", line.Window)
			}
			window = line.Window
		}
	}
	if window == nil || window.StartSample != 0 {
		t.Fatalf("sigop-client watch printed %q; want one window from sample 0", out)
	}
	c, err := operator.Dial(addr, operator.WithClassifier("digits"), operator.WithTopK(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wav, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	answer, err := c.ClassifyAudio(ctxT(t), [][]byte{wav})
	if err != nil {
		t.Fatal(err)
	}
	want := answer.Classes[0]
	got := window.Classes[0]
	if got.Label != want[0].Label || math.Abs(float64(got.Score-want[0].Score)) > 1e-3 {
		t.Fatalf("watch scored %s %.5f; ClassifyAudio %s %.5f", got.Label, got.Score, want[0].Label, want[0].Score)
	}
}
