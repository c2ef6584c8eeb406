//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigop-dev/sigop/go/classify"
	"github.com/sigop-dev/sigop/go/edge"
	"github.com/sigop-dev/sigop/go/internal/testsignals"
)

// openIMU opens the served IMU model's folder with the pure-Go runtime.
func openIMU(t *testing.T) *edge.Model {
	t.Helper()
	m, err := edge.Open(filepath.Join(os.Getenv("SIGOP_GRAPHS"), "imu"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The same program, served or on the device: a classify.Classifier is
// either, and both answer alike.
func TestEdgeAnswersAsTheServer(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	clients := map[string]classify.Classifier{"server": dialIMU(t), "edge": openIMU(t)}
	var worstP, worstU float64
	for _, n := range []int{200, 256, 300} { // shorter than the model's 256, and longer
		var signals [][][]float64
		for i := range 10 {
			signals = append(signals, testsignals.ThreeAxes(rng, i%3, n))
		}
		answers := map[string]*classify.Result{}
		for name, c := range clients {
			r, err := c.ClassifyMultichannel(ctxT(t), signals, classify.TopK(0))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			answers[name] = r
		}
		s, e := answers["server"], answers["edge"]
		if s.Model != e.Model || s.Version != e.Version || len(s.Unknown) != 10 || len(e.Unknown) != 10 {
			t.Fatalf("server %s v%d (%d unknown scores), edge %s v%d (%d)", s.Model, s.Version, len(s.Unknown), e.Model, e.Version, len(e.Unknown))
		}
		for i := range signals {
			for j, c := range s.Classes[i] {
				if e.Classes[i][j].Label != c.Label {
					t.Fatalf("signal %d: edge ranks %v, the server %v", i, e.Classes[i], s.Classes[i])
				}
				worstP = math.Max(worstP, math.Abs(float64(e.Classes[i][j].Score-c.Score)))
			}
			worstU = math.Max(worstU, math.Abs(float64(e.Unknown[i].Score-s.Unknown[i].Score))/math.Max(1, float64(s.Unknown[i].Score)))
			if e.Unknown[i].Unknown != s.Unknown[i].Unknown {
				t.Errorf("signal %d: unknown %v (%g) on the edge, %v (%g) served", i, e.Unknown[i].Unknown, e.Unknown[i].Score, s.Unknown[i].Unknown, s.Unknown[i].Score)
			}
		}
	}
	ragged := [][][]float64{testsignals.ThreeAxes(rng, 0, 200), testsignals.ThreeAxes(rng, 0, 204)}
	for name, c := range clients {
		if _, err := c.ClassifyMultichannel(ctxT(t), ragged); err == nil || !strings.Contains(err.Error(), "ragged batches are not allowed") {
			t.Errorf("%s: a ragged batch: %v", name, err)
		}
	}
	t.Logf("30 signals: probabilities within %.2g, unknown scores within %.2g relative", worstP, worstU)
	if worstP > 1e-5 || worstU > 1e-4 {
		t.Errorf("probabilities differ by %g, unknown scores by %g relative", worstP, worstU)
	}
}

// Watch on the device gives the server's windows and events for a device
// that moves between states, under every config a user sets.
func TestEdgeWatchGivesTheServersEvents(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	recording := make([][]float64, 3)
	for _, part := range []int{0, 0, 0, 1, 1, -1, -1, 2, 2, 2, 0} { // -1: every axis loud noise, like no class
		var p [][]float64
		if part < 0 {
			p = make([][]float64, 3)
			for c := range p {
				for range 256 {
					p[c] = append(p[c], 40*rng.NormFloat64())
				}
			}
		} else {
			p = testsignals.ThreeAxes(rng, part, 256)
		}
		for c := range recording {
			recording[c] = append(recording[c], p[c]...)
		}
	}
	configs := []classify.StreamConfig{
		{Hop: 1.28},
		{Hop: 0.32, SmoothingWindows: 3, UnknownEvents: true},
		{Hop: 0.64, MinDuration: 1.5, Threshold: 0.8, UnknownEvents: true},
	}
	for _, cfg := range configs {
		got, scores := map[string][]string{}, map[string][]float32{}
		for name, c := range map[string]classify.Classifier{"server": dialIMU(t), "edge": openIMU(t)} {
			chunks := make(chan [][]float64)
			go func() {
				defer close(chunks)
				for i := 0; i < len(recording[0]); i += 97 {
					end := min(i+97, len(recording[0]))
					chunks <- [][]float64{recording[0][i:end], recording[1][i:end], recording[2][i:end]}
				}
			}()
			ctx, cancel := context.WithCancel(ctxT(t))
			results, done := c.WatchMultichannel(ctx, cfg, chunks, classify.TopK(1))
			for r := range results {
				if r.Event != nil {
					got[name] = append(got[name], fmt.Sprintf("event %s from %d (%.2f s) after %s from %d",
						r.Event.Label, r.Event.StartSample, r.Event.Start, r.Event.Previous, r.Event.PreviousStartSample))
				} else {
					got[name] = append(got[name], fmt.Sprintf("window %d-%d %s", r.Window.StartSample, r.Window.EndSample,
						r.Window.Classes[0].Label))
					scores[name] = append(scores[name], r.Window.Classes[0].Score)
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("%s: %+v: %v", name, cfg, err)
			}
		}
		events := 0
		for i, line := range got["server"] {
			if i >= len(got["edge"]) || got["edge"][i] != line {
				t.Fatalf("%+v: result %d: served %q, on the edge %q", cfg, i, line, at(got["edge"], i))
			}
			if line[:5] == "event" {
				events++
				t.Logf("%+v: %s", cfg, line)
			}
		}
		for i, p := range scores["server"] {
			if d := math.Abs(float64(p - scores["edge"][i])); d > 1e-5 {
				t.Errorf("%+v: window %d's top score %g served, %g on the edge", cfg, i, p, scores["edge"][i])
			}
		}
		if len(got["edge"]) != len(got["server"]) || events < 3 {
			t.Fatalf("%+v: %d results on the edge, %d served, %d events; want the same and at least 3", cfg, len(got["edge"]), len(got["server"]), events)
		}
	}
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(none)"
}

// sigop-client --model-dir classifies and watches files on the device with
// the server's answers, and no server.
func TestSigopClientModelDirAnswersAsTheServer(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(25, 26))
	var files []string
	recording := make([][]float64, 3)
	for i, axis := range []int{0, 1, 2, 1} {
		x := testsignals.ThreeAxes(rng, axis, 256)
		name := filepath.Join(dir, fmt.Sprintf("%d.npy", i))
		if err := os.WriteFile(name, npy3(x), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
		for c := range recording {
			recording[c] = append(recording[c], x[c]...)
		}
	}
	long := filepath.Join(dir, "long.npy")
	if err := os.WriteFile(long, npy3(recording), 0o644); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(os.Getenv("SIGOP_GRAPHS"), "imu")
	for _, args := range [][]string{
		append([]string{"classify-signal", "--top", "1"}, files...),
		{"watch", "--hop", "0.64", "--windows", long},
	} {
		served, err := sigopClient(append([]string{args[0], "--addr", addr, "--model", "imu"}, args[1:]...)...).Output()
		if err != nil {
			t.Fatalf("%v served: %v", args, err)
		}
		local, err := sigopClient(append([]string{args[0], "--model-dir", model, "--addr", "127.0.0.1:1"}, args[1:]...)...).Output()
		if err != nil {
			t.Fatalf("%v --model-dir: %v", args, err)
		}
		t.Logf("%s --model-dir:\n%s", args[0], local)
		if string(local) != string(served) || len(local) == 0 {
			t.Errorf("%v: --model-dir printed\n%s\nthe server's answer printed\n%s", args, local, served)
		}
	}
}
