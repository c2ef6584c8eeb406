//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sigop-dev/sigop/go/internal/testsignals"
	"github.com/sigop-dev/sigop/go/operator"
)

var axes = testsignals.Axes

func dialIMU(t *testing.T) *operator.Client {
	t.Helper()
	c, err := operator.Dial(addr, operator.WithClassifier("imu"), operator.WithTopK(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ClassifyMultichannel: three-axis signals made in Go are told apart by the
// axis their tone is on; the model lists its channels; a signal of two axes
// is InvalidArgument naming what the model takes.
func TestClassifyMultichannelTellsWhichAxisCarriesTheTone(t *testing.T) {
	c := dialIMU(t)
	models, err := c.Models(ctxT(t), "imu")
	if err != nil || len(models["imu"]) != 1 || models["imu"][0].Channels != 3 ||
		strings.Join(models["imu"][0].ChannelNames, ",") != "x,y,z" {
		t.Fatalf("Models(imu) = %+v, %v; want 3 channels x,y,z", models, err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	var signals [][][]float64
	var want []string
	for i := range 30 {
		signals = append(signals, testsignals.ThreeAxes(rng, i%3, 256))
		want = append(want, "tone_"+axes[i%3])
	}
	r, err := c.ClassifyMultichannel(ctxT(t), signals)
	if err != nil {
		t.Fatal(err)
	}
	right := 0
	for i, classes := range r.Classes {
		if classes[0].Label == want[i] {
			right++
		}
	}
	t.Logf("three-axis signals generated in Go: %d/30 right", right)
	if right < 27 {
		t.Fatalf("%d of 30 three-axis signals classified by their axis; want at least 27", right)
	}
	_, err = c.ClassifyMultichannel(ctxT(t), [][][]float64{signals[0][:2]})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "takes 3 channels (x, y, z)") {
		t.Fatalf("two axes to a three-axis model: %v; want InvalidArgument naming the 3 channels", err)
	}
	if _, err = c.ClassifySignals(ctxT(t), [][]float64{signals[0][0]}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("one channel to a three-axis model: %v; want InvalidArgument", err)
	}
}

// WatchMultichannel: a device whose tone moves from the x axis to the z
// axis, streamed in chunks of every axis; the events follow it.
func TestWatchMultichannelFollowsTheToneAcrossAxes(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	recording := make([][]float64, 3)
	for _, axis := range []int{0, 0, 0, 0, 2, 2, 2, 2} {
		part := testsignals.ThreeAxes(rng, axis, 256)
		for c := range recording {
			recording[c] = append(recording[c], part[c]...)
		}
	}
	chunks := make(chan [][]float64)
	go func() {
		defer close(chunks)
		for i := 0; i < len(recording[0]); i += 100 {
			end := min(i+100, len(recording[0]))
			chunks <- [][]float64{recording[0][i:end], recording[1][i:end], recording[2][i:end]}
		}
	}()
	results, done := dialIMU(t).WatchMultichannel(ctxT(t), operator.StreamConfig{Hop: 1.28, SmoothingWindows: 1}, chunks)
	var events []string
	windows := 0
	for r := range results {
		if r.Event != nil {
			events = append(events, fmt.Sprintf("%s@%.2f", r.Event.Label, r.Event.Start))
		} else {
			windows++
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("events %v over %d windows", events, windows)
	if windows != 15 || len(events) != 2 || !strings.HasPrefix(events[0], "tone_x@0.00") || !strings.HasPrefix(events[1], "tone_z@") {
		t.Fatalf("events %v over %d windows; want tone_x at 0, then tone_z, over 15 windows", events, windows)
	}
}

// sigop-client reads a logger's CSV (timestamp, accX, accY, accZ) and a
// 2-D .npy as one three-axis signal each, and watches the CSV.
func TestSigopClientClassifiesAndWatchesThreeAxisFiles(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(11, 12))
	x := testsignals.ThreeAxes(rng, 1, 256)
	var csv strings.Builder
	csv.WriteString("timestamp,accX,accY,accZ\n")
	for i := range x[0] {
		fmt.Fprintf(&csv, "%d,%g,%g,%g\n", 1_700_000_000_000+10*i, x[0][i], x[1][i], x[2][i])
	}
	csvFile := filepath.Join(dir, "walk.csv")
	if err := os.WriteFile(csvFile, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	npyFile := filepath.Join(dir, "z.npy")
	if err := os.WriteFile(npyFile, npy3(testsignals.ThreeAxes(rng, 2, 256)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := sigopClient("classify-signal", "--addr", addr, "--model", "imu", "--top", "1", "--json", csvFile, npyFile).Output()
	if err != nil {
		t.Fatalf("sigop-client classify-signal: %v", err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r struct {
			Input   string
			Classes []operator.Class
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		got = append(got, filepath.Base(r.Input)+"="+r.Classes[0].Label)
	}
	if strings.Join(got, " ") != "walk.csv=tone_y z.npy=tone_z" {
		t.Fatalf("sigop-client classify-signal printed %s; want walk.csv=tone_y z.npy=tone_z", out)
	}
	out, err = sigopClient("watch", "--addr", addr, "--model", "imu", "--json", csvFile).Output()
	if err != nil || !strings.Contains(string(out), `"label":"tone_y"`) {
		t.Fatalf("sigop-client watch %s: %s (%v); want a tone_y event", csvFile, out, err)
	}
}

// npy3 writes [channels][n] float64 as a .npy file's bytes.
func npy3(x [][]float64) []byte {
	var values []float64
	for _, row := range x {
		values = append(values, row...)
	}
	return npy(fmt.Sprintf("(%d, %d)", len(x), len(x[0])), values)
}

// npy1 writes a 1-D float64 .npy.
func npy1(x []float64) []byte { return npy(fmt.Sprintf("(%d,)", len(x)), x) }

// npy is a .npy file of float64 values in C order under a shape tuple such as "(3, 256)".
func npy(shape string, values []float64) []byte {
	header := fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': %s, }", shape)
	header += strings.Repeat(" ", 64-(10+len(header)+1)%64) + "\n"
	out := append([]byte("\x93NUMPY\x01\x00"), byte(len(header)), byte(len(header)>>8))
	return append(append(out, header...), f64(values...)...)
}
