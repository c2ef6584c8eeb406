package edge

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigop-dev/sigop/go/classify"
)

var imu = fixture{name: "imu", labels: []string{"rest", "walk", "run"}, channels: 3, samples: 64, rate: 100,
	declared: true, unknown: "logit_mahalanobis"}

func open(t *testing.T, f fixture) *Model {
	t.Helper()
	m, err := Open(f.write(t))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// integerSignal is [channels][n] small integers, then zeros: every float32
// sum of them is exact, so any order of additions gives the same features.
func integerSignal(rng *rand.Rand, channels, n, zeros int) [][]float64 {
	out := make([][]float64, channels)
	for c := range out {
		out[c] = make([]float64, n+zeros)
		for t := range n {
			out[c][t] = float64(rng.IntN(21) - 10)
		}
	}
	return out
}

// definition is MiniRocket's PPV features written from the paper: the
// kernel's weights (-1, and 2 at its three positions) times the dilated
// taps, zero outside the signal's own samples, summed over the pair's
// channels; every other pair counts only the inside.
func definition(m *miniRocket, x [][]float32) []float32 {
	length := validLength(x)
	var out []float32
	feature := 0
	for i, d := range m.dilations {
		for k, where := range kernelIndices {
			c := make([]float32, length)
			for t := range length {
				for ch := range x {
					if !m.mask[i][k][ch] {
						continue
					}
					for tap := range kernelLength {
						w := float32(-1)
						if tap == where[0] || tap == where[1] || tap == where[2] {
							w = 2
						}
						if j := t + (tap-4)*d; j >= 0 && j < length {
							c[t] += w * x[ch][j]
						}
					}
				}
			}
			lo, hi := 0, length
			if (i+k)%2 != 0 && length-4*d > 4*d {
				lo, hi = 4*d, length-4*d
			}
			for range m.perDilation[i] {
				n := 0
				for _, v := range c[lo:hi] {
					if v > m.biases[feature] {
						n++
					}
				}
				out = append(out, float32(n)/float32(hi-lo))
				feature++
			}
		}
	}
	return out
}

func TestFeaturesAreMiniRocketsDefinition(t *testing.T) {
	m := open(t, imu)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 7, 20, 40, 64} { // shorter than a dilation's reach, and whole
		x, err := m.prepare([][][]float64{integerSignal(rng, 3, n, 64-n)}, 0, true)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(m.transform.biases))
		m.transform.features(x[0], got)
		want := definition(m.transform, x[0])
		for j := range got {
			if got[j] != want[j] {
				t.Fatalf("%d samples: feature %d is %v, the definition's %v", n, j, got[j], want[j])
			}
		}
	}
}

func TestChannelsRateAndValuesAreRefusedAsTheServerDoes(t *testing.T) {
	m := open(t, imu)
	ctx := context.Background()
	good := integerSignal(rand.New(rand.NewPCG(5, 6)), 3, 64, 0)
	for _, c := range []struct {
		name string
		call func() error
		is   error
		says string
	}{
		{"one channel", func() error { _, err := m.ClassifySignals(ctx, [][]float64{good[0]}); return err },
			classify.ErrInvalidInput, "model 'imu' takes 3 channels (x, y, z) as [batch, 3, n]; got 1 channel"},
		{"two channels", func() error { _, err := m.ClassifyMultichannel(ctx, [][][]float64{good[:2]}); return err },
			classify.ErrInvalidInput, "takes 3 channels (x, y, z) as [batch, 3, n]; got 2 channels"},
		{"NaN", func() error {
			bad := [][]float64{good[0], append([]float64{0, 1}, nan()), good[2]}
			_, err := m.ClassifyMultichannel(ctx, [][][]float64{bad})
			return err
		}, classify.ErrInvalidInput, "signal 0, channel 1 has 3 samples but signal 0 has 64"},
		{"NaN sample", func() error {
			bad := [][]float64{good[0], append(append([]float64{}, good[1][:63]...), nan()), good[2]}
			_, err := m.ClassifyMultichannel(ctx, [][][]float64{bad})
			return err
		}, classify.ErrInvalidInput, "signal 0, channel 1, sample 63 is nan; expected finite values"},
		{"another rate", func() error {
			_, err := m.ClassifyMultichannel(ctx, [][][]float64{good}, classify.SampleRate(50))
			return err
		}, classify.ErrUnsupported, "sample_rate is 50 Hz, but this runtime takes signals at model 'imu''s own 100 Hz"},
		{"another model", func() error {
			_, err := m.ClassifyMultichannel(ctx, [][][]float64{good}, classify.Model("plaid"))
			return err
		}, classify.ErrNotFound, `model "plaid": this runtime holds "imu"`},
		{"another version", func() error {
			_, err := m.ClassifyMultichannel(ctx, [][][]float64{good}, classify.Version(7))
			return err
		}, classify.ErrNotFound, "version 7: this runtime holds version 2"},
		{"stream chunk of two rows", func() error {
			s, err := m.NewStream(classify.StreamConfig{})
			if err != nil {
				return err
			}
			_, err = s.FeedMultichannel(good[:2])
			return err
		}, classify.ErrInvalidInput, "samples: 2 rows, but model 'imu' takes 3 channels (x, y, z): send chunks [3, k]"},
	} {
		err := c.call()
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v; want %v saying %q", c.name, err, c.is, c.says)
		}
	}
	if _, err := m.ClassifyMultichannel(ctx, [][][]float64{good}, classify.SampleRate(100), classify.Model("imu"), classify.Version(2)); err != nil {
		t.Errorf("the model's own rate, name and version: %v", err)
	}
	undeclared := imu
	undeclared.declared = false
	_, err := open(t, undeclared).ClassifyMultichannel(ctx, [][][]float64{good}, classify.SampleRate(50))
	if !errors.Is(err, classify.ErrInvalidInput) || !strings.Contains(err.Error(), "without a declared sample rate") {
		t.Errorf("a rate for a model without one: %v", err)
	}
}

func nan() float64 { var z float64; return z / z }

func TestNetworksAreRefusedAtOpenNamingTheRecipe(t *testing.T) {
	cnn := imu
	cnn.recipe = "cnn"
	_, err := Open(cnn.write(t))
	if !errors.Is(err, classify.ErrUnsupported) || !strings.Contains(err.Error(), "is a cnn model") ||
		!strings.Contains(err.Error(), "sigop serve") {
		t.Errorf("a CNN: %v; want ErrUnsupported naming the recipe and the server", err)
	}
}

func TestAlteredArraysAreRefused(t *testing.T) {
	dir := imu.write(t)
	path := filepath.Join(dir, "minirocket.npz")
	data, _ := os.ReadFile(path)
	data[len(data)/2] ^= 1
	os.WriteFile(path, data, 0o644)
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "does not match its manifest's sha256") {
		t.Errorf("an altered minirocket.npz: %v", err)
	}
}

func TestAModelFolderOpensItsNewestWholeVersion(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"1", "3"} {
		os.Rename(imu.write(t), filepath.Join(root, v))
	}
	os.Mkdir(filepath.Join(root, "4"), 0o755) // being written: no manifest yet
	m, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if got := filepath.Base(m.Info().Folder); got != "3" {
		t.Errorf("opened version folder %s; want 3", got)
	}
}

func TestTopKRanksBestFirst(t *testing.T) {
	m := open(t, imu)
	x := integerSignal(rand.New(rand.NewPCG(7, 8)), 3, 64, 0)
	all, err := m.ClassifyMultichannel(context.Background(), [][][]float64{x})
	if err != nil {
		t.Fatal(err)
	}
	one, _ := m.ClassifyMultichannel(context.Background(), [][][]float64{x}, classify.TopK(1))
	c := all.Classes[0]
	if len(c) != 3 || c[0].Score < c[1].Score || c[1].Score < c[2].Score || len(one.Classes[0]) != 1 || one.Classes[0][0] != c[0] {
		t.Errorf("every label %v, top 1 %v", c, one.Classes[0])
	}
	var sum float32
	for _, v := range c {
		sum += v.Score
	}
	if sum < 0.9999 || sum > 1.0001 || all.Unknown == nil {
		t.Errorf("probabilities sum to %v; unknown %v", sum, all.Unknown)
	}
}

// TestStreamWindowsAreCallsOfThoseWindows: a stream's window answers what
// a call of that window answers, at the hop asked; a stream shorter than a
// window is that stream zero-padded.
func TestStreamWindowsAreCallsOfThoseWindows(t *testing.T) {
	m := open(t, imu)
	rng := rand.New(rand.NewPCG(9, 10))
	x := integerSignal(rng, 3, 300, 0)
	s, err := m.NewStream(classify.StreamConfig{Hop: 0.16}, classify.TopK(2)) // 16 samples at 100 Hz
	if err != nil {
		t.Fatal(err)
	}
	var windows []*classify.StreamWindow
	for start := 0; start < 300; start += 37 { // chunks that do not line up with windows
		chunk := make([][]float64, 3)
		for c := range chunk {
			chunk[c] = x[c][start:min(start+37, 300)]
		}
		rs, err := s.FeedMultichannel(chunk)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Window != nil {
				windows = append(windows, r.Window)
			}
		}
	}
	if want := (300-64)/16 + 1; len(windows) != want {
		t.Fatalf("%d windows; want %d", len(windows), want)
	}
	for i, w := range windows {
		at := 16 * i
		window := make([][]float64, 3)
		for c := range window {
			window[c] = x[c][at : at+64]
		}
		r, _ := m.ClassifyMultichannel(context.Background(), [][][]float64{window}, classify.TopK(2))
		if w.StartSample != int64(at) || w.Start != float64(at)/100 || len(w.Classes) != 2 ||
			w.Classes[0] != r.Classes[0][0] || w.Unknown.Score != r.Unknown[0].Score {
			t.Fatalf("window %d: %+v; the call of it: %+v", i, w, r.Classes[0])
		}
	}
	short, _ := m.NewStream(classify.StreamConfig{})
	head := [][]float64{x[0][:10], x[1][:10], x[2][:10]}
	short.FeedMultichannel(head)
	rs := short.Finish()
	r, _ := m.ClassifyMultichannel(context.Background(), [][][]float64{head})
	if len(rs) == 0 || rs[0].Window.Classes[0] != r.Classes[0][0] {
		t.Errorf("a 10-sample stream: %+v; the call: %+v", rs, r.Classes)
	}
}

// above's sign bits count what a comparison counts, for any finite values
// and biases, -0 among them (taken as +0, as newMiniRocket stores it).
func TestAboveCountsAsComparisons(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, math.MaxFloat32, -math.MaxFloat32, 1, -1}
	values := append([]float32{}, special...)
	for range 1000 {
		values = append(values, float32(rng.NormFloat64()), float32(rng.IntN(5)-2))
	}
	for _, bias := range append(special, 0.5, -2, 2, float32(rng.NormFloat64())) {
		b := bias
		if b == 0 {
			b = 0
		}
		for _, n := range []int{0, 1, 3, 4, 5, len(values)} {
			if got, want := above(values[:n], b), aboveCompared(values[:n], bias); got != want {
				t.Errorf("bias %v, %d values: above %d, comparisons %d", bias, n, got, want)
			}
		}
	}
	if !overflows([][]float32{{3e37}}, 1) || overflows([][]float32{{1e36, -1e36}}, 2) {
		t.Error("overflows: 18 x 3e37 overflows float32; 18 x 1e36 does not")
	}
}
