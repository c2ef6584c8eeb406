//go:build e2e

package e2e

import (
	"encoding/json"
	"math"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sigop-dev/sigop/go/inference"
	"github.com/sigop-dev/sigop/go/internal/testsignals"
)

func dialInference(t *testing.T, target string, opts ...inference.Option) *inference.Client {
	t.Helper()
	c, err := inference.Dial(target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func articleSignals(perClass int, seed uint64) [][]float64 {
	rows, _ := testsignals.Article(perClass, seed)
	return rows
}

// The same signals give the same scores through ModelInfer as through
// ClassifySignal, to float32 precision (both are the model's float32 output).
func TestModelInferGivesClassifySignalScores(t *testing.T) {
	ctx := ctxT(t)
	c, op := dialInference(t, addr, inference.WithHealthCheck(inference.Service)), dialClassifier(t)
	rows := articleSignals(8, 21)
	want, err := op.ClassifySignals(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := c.ModelMetadata(ctx, "article", "")
	if err != nil || meta.Platform != "sigop" || len(meta.Inputs) != 1 || meta.Inputs[0].Name != "signals" {
		t.Fatalf("ModelMetadata(article) = %+v, %v", meta, err)
	}
	if ready, err := c.ModelReady(ctx, "article", ""); !ready || err != nil {
		t.Fatalf("ModelReady(article) = %v, %v", ready, err)
	}
	var labels []string
	if err := json.Unmarshal([]byte(meta.Properties["labels"]), &labels); err != nil || len(labels) != 2 {
		t.Fatalf("labels property %q: %v", meta.Properties["labels"], err)
	}
	for _, typed := range []bool{false, true} {
		opts := []inference.CallOption{inference.RequestID("go-1")}
		if typed {
			opts = append(opts, inference.TypedContents())
		}
		r, err := c.Infer(ctx, "article", []*inference.Tensor{inference.FP64Rows("signals", rows)}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		p, err := r.Output("probabilities")
		if err != nil {
			t.Fatal(err)
		}
		scores, err := p.Float32s()
		if err != nil || r.ID != "go-1" || r.ModelVersion != "1" {
			t.Fatalf("typed=%v: %v, id %q, version %q", typed, err, r.ID, r.ModelVersion)
		}
		width := int(p.Shape[1])
		for i, classes := range want.Classes {
			for _, k := range classes {
				j := slices.Index(labels, k.Label)
				if got := scores[i*width+j]; math.Abs(float64(got-k.Score)) > 1e-6*math.Max(1, float64(k.Score)) {
					t.Fatalf("typed=%v: signal %d, %s: ModelInfer %g, ClassifySignal %g", typed, i, k.Label, got, k.Score)
				}
			}
		}
	}
	r, err := c.Infer(ctx, "article", []*inference.Tensor{inference.FP64Rows("signals", rows)},
		inference.Classification("probabilities", 1))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := r.Output("probabilities")
	best, err := p.Classes()
	if err != nil {
		t.Fatal(err)
	}
	for i, classes := range want.Classes {
		if best[i][0].Label != classes[0].Label || math.Abs(best[i][0].Score-float64(classes[0].Score)) > 1e-6 {
			t.Fatalf("signal %d: classification %+v; ClassifySignal's best %+v", i, best[i][0], classes[0])
		}
	}
}

// The FFT graph is a model: its magnitudes equal the Operator service's bit for bit.
func TestModelInferOfTheFFTGraph(t *testing.T) {
	ctx := ctxT(t)
	c, op := dialInference(t, addr), dial(t)
	rows := articleSignals(2, 5)
	want, err := op.Magnitudes(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Infer(ctx, "fft", []*inference.Tensor{inference.FP64Rows("signals", rows)}, inference.Outputs("magnitude"))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := r.Output("magnitude")
	got, err := m.Float64s()
	if err != nil || len(r.Outputs) != 1 {
		t.Fatalf("%v, %d outputs", err, len(r.Outputs))
	}
	n := len(want[0])
	for i := range want {
		for k := range want[i] {
			if got[i*n+k] != want[i][k] {
				t.Fatalf("signal %d bin %d: ModelInfer %g, Magnitudes %g", i, k, got[i*n+k], want[i][k])
			}
		}
	}
}

// Bad input gets the Operator service's codes through the protocol, and the server keeps serving.
func TestModelInferBadInput(t *testing.T) {
	ctx := ctxT(t)
	c := dialInference(t, addr)
	nan := inference.FP64("signals", []int64{1, 3}, []float64{1, math.NaN(), 2})
	cases := []struct {
		name   string
		model  string
		inputs []*inference.Tensor
		want   codes.Code
	}{
		{"NaN", "article", []*inference.Tensor{nan}, codes.InvalidArgument},
		{"unknown model", "no-such-model", []*inference.Tensor{nan}, codes.NotFound},
		{"image bytes that are no image", "article", []*inference.Tensor{inference.BYTES("images", []int64{1}, [][]byte{[]byte("nope")})}, codes.InvalidArgument},
		{"sound for a spectrum model", "article", []*inference.Tensor{inference.BYTES("audio", []int64{1}, [][]byte{[]byte("RIFF")})}, codes.FailedPrecondition},
	}
	for _, tc := range cases {
		_, err := c.Infer(ctx, tc.model, tc.inputs)
		if status.Code(err) != tc.want {
			t.Errorf("%s: %v; want %v", tc.name, err, tc.want)
		}
	}
	if ready, err := c.ServerReady(ctx); !ready || err != nil {
		t.Fatalf("after bad input: ServerReady = %v, %v", ready, err)
	}
	meta, err := c.ServerMetadata(ctx)
	if err != nil || meta.Name != "sigop" {
		t.Fatalf("ServerMetadata = %+v, %v", meta, err)
	}
}
