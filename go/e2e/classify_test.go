//go:build e2e

package e2e

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sigop-dev/sigop/go/internal/testsignals"
	"github.com/sigop-dev/sigop/go/operator"
	"github.com/sigop-dev/sigop/go/signal"
)

func dialClassifier(t *testing.T, opts ...operator.Option) *operator.Client {
	t.Helper()
	c, err := operator.Dial(addr, append([]operator.Option{operator.WithClassifier("article")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Signals generated in Go are classified by a model trained on signals that
// Python generated: the two generators share the class structure.
func TestClassifySignalsGeneratedInGo(t *testing.T) {
	c := dialClassifier(t, operator.WithTopK(1))
	signals, truth := testsignals.Article(50, 11)
	answer, err := c.ClassifySignals(ctxT(t), signals)
	if err != nil {
		t.Fatal(err)
	}
	ranked := answer.Classes
	correct := 0
	for i, r := range ranked {
		if len(r) != 1 {
			t.Fatalf("signal %d: %d classes; want top 1", i, len(r))
		}
		if r[0].Label == truth[i] {
			correct++
		}
	}
	acc := float64(correct) / float64(len(signals))
	t.Logf("accuracy on %d Go-generated signals: %.3f", len(signals), acc)
	if acc < 0.95 {
		t.Fatalf("accuracy %.3f < 0.95", acc)
	}
	one, err := c.ClassifySignals(ctxT(t), signals[:1])
	if err != nil || one.Classes[0][0].Label != ranked[0][0].Label {
		t.Fatalf("ClassifySignal(one) = %v, %v; the batch said %v", one, err, ranked[0])
	}
}

// Images the training data rendered are classified as their class.
func TestClassifyImagesRenderedForTraining(t *testing.T) {
	data := os.Getenv("SIGOP_E2E_DATA")
	op := dialClassifier(t)
	correct, total := 0, 0
	for _, class := range []string{"blue", "red"} {
		files, _ := filepath.Glob(filepath.Join(data, "images", class, "*.png"))
		if len(files) < 5 {
			t.Fatalf("fewer than 5 PNG images under %s", filepath.Join(data, "images", class))
		}
		for _, f := range files[:5] {
			png, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			answer, err := op.ClassifyImages(ctxT(t), [][]byte{png})
			if err != nil {
				t.Fatal(err)
			}
			got := answer.Classes[0]
			if len(got) != 2 || got[0].Score < got[1].Score {
				t.Fatalf("Classify(%s) = %v; want 2 labels, best first", f, got)
			}
			total++
			if got[0].Label == class {
				correct++
			}
		}
	}
	if correct < total-1 { // the model may err on one image; more means something is broken
		t.Fatalf("%d of %d images classified right", correct, total)
	}
}

func TestModelsListsWhatIsServed(t *testing.T) {
	models, err := dial(t).Models(ctxT(t), "")
	if err != nil {
		t.Fatal(err)
	}
	art, fft := models["article"], models["fft"]
	if len(art) != 1 || !art[0].Available || art[0].Kind != "classifier" || len(art[0].Labels) != 2 || art[0].Labels[0] != "blue" {
		t.Fatalf("article = %+v", art)
	}
	if len(fft) != 1 || fft[0].Version != 1 || fft[0].Kind != "fft" {
		t.Fatalf("fft = %+v", fft)
	}
}

// A spectrum-image model takes signals of any length: zero-padded (or cut) to its contract's n.
func TestClassifySignalOfAnotherLengthIsPadded(t *testing.T) {
	c := dialClassifier(t)
	g, err := signal.NewGenerator(signal.DefaultParams(), 12)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := g.Signal(signal.Classes[0])
	short := x[:1000]
	padded := append(append([]float64{}, short...), make([]float64, len(x)-1000)...)
	ra, err := c.ClassifySignals(ctxT(t), [][]float64{short})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := c.ClassifySignals(ctxT(t), [][]float64{padded})
	if err != nil {
		t.Fatal(err)
	}
	a, b := ra.Classes[0], rb.Classes[0]
	if a[0].Label != b[0].Label || math.Abs(float64(a[0].Score-b[0].Score)) > 1e-6 {
		t.Fatalf("1000 samples: %v; the same zero-padded to %d: %v", a, len(x), b)
	}
	t.Logf("1000 samples and the same padded to %d: %s %.4f", len(x), a[0].Label, a[0].Score)
}

func TestClassifyBadInput(t *testing.T) {
	c := dialClassifier(t)
	files, _ := filepath.Glob(filepath.Join(os.Getenv("SIGOP_E2E_DATA"), "images", "red", "*.png"))
	png, _ := os.ReadFile(files[0])
	tests := []struct {
		name string
		call func(context.Context) error
		code codes.Code
	}{
		{"non-image bytes", func(ctx context.Context) error {
			_, err := c.ClassifyImages(ctx, [][]byte{[]byte("hello")})
			return err
		}, codes.InvalidArgument},
		{"truncated PNG", func(ctx context.Context) error {
			_, err := c.ClassifyImages(ctx, [][]byte{png[:len(png)/2]})
			return err
		}, codes.InvalidArgument},
		{"a sample rate for a model that draws spectra by bin", func(ctx context.Context) error {
			_, err := c.ClassifySignals(ctx, [][]float64{make([]float64, 1024)}, operator.SampleRate(8000))
			return err
		}, codes.InvalidArgument},
		{"unknown model", func(ctx context.Context) error {
			_, err := c.ClassifyImages(ctx, [][]byte{png}, operator.Model("nope"))
			return err
		}, codes.NotFound},
		{"a version that is not loaded", func(ctx context.Context) error {
			_, err := c.ClassifyImages(ctx, [][]byte{png}, operator.Version(99))
			return err
		}, codes.NotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(ctxT(t))
			if status.Code(err) != tc.code {
				t.Fatalf("%s: error %v; want %v", tc.name, err, tc.code)
			}
			t.Logf("%v: %s", status.Code(err), status.Convert(err).Message())
		})
	}
}

// Every classification carries the model's unknown score, and noise, which
// no training class looks like, scores higher than the classes' own signals.
func TestUnknownScoreComesBackWithEveryClassification(t *testing.T) {
	c := dialClassifier(t, operator.WithTopK(1))
	g, err := signal.NewGenerator(signal.DefaultParams(), 12)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var known, noise [][]float64
	for i := range 20 {
		x, _ := g.Signal(signal.Classes[i%len(signal.Classes)])
		known = append(known, x)
		n := make([]float64, len(x))
		for j := range n {
			n[j] = 8 * rng.NormFloat64()
		}
		noise = append(noise, n)
	}
	mean := func(signals [][]float64) (float64, int) {
		r, err := c.ClassifySignals(ctxT(t), signals)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Unknown) != len(signals) {
			t.Fatalf("%d unknown scores for %d signals", len(r.Unknown), len(signals))
		}
		sum, flagged := 0.0, 0
		for _, u := range r.Unknown {
			sum += float64(u.Score)
			if u.Unknown {
				flagged++
			}
		}
		return sum / float64(len(signals)), flagged
	}
	knownMean, knownFlagged := mean(known)
	noiseMean, noiseFlagged := mean(noise)
	t.Logf("mean unknown score: known %.3f (%d of 20 over the threshold), noise %.3f (%d of 20)", knownMean, knownFlagged, noiseMean, noiseFlagged)
	// How many known signals go over the threshold is not asserted: this model's threshold is set on 14 validation
	// files, and 8-9 of 20 fresh known signals have gone over it (docs/unknown.md, Limits).
	if noiseMean <= knownMean || noiseFlagged <= knownFlagged {
		t.Fatalf("noise scores %.3f (%d of 20 over the threshold), known signals %.3f", noiseMean, noiseFlagged, knownMean)
	}
	models, err := c.Models(ctxT(t), "article")
	if err != nil || models["article"][0].UnknownScore == nil || models["article"][0].UnknownScore.Threshold <= 0 {
		t.Fatalf("Models(article) = %+v, %v; want its unknown score's threshold", models, err)
	}
}
