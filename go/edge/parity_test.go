package edge

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"codeberg.org/sbinet/npyio/npz"
)

// vectors is what tests/vectors/make_edge_vectors.py wrote: files' signals
// and the server's compiled runtime's answers on them.
type vectors struct {
	signals       []float64 // [files][channels][longest]
	shape         []int
	lengths       []int64
	probabilities []float32 // [files][classes]
	unknown       []float32 // [files], or none
	top           []int64
	features      []float32 // [some files][features]
	featureFiles  int
	evaluateTop   []int64 // sigop evaluate's top class per file, where it was run
}

func readVectors(t *testing.T, path string) *vectors {
	t.Helper()
	z, err := npz.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var v vectors
	for name, ptr := range map[string]any{"signals": &v.signals, "lengths": &v.lengths, "probabilities": &v.probabilities,
		"unknown": &v.unknown, "top": &v.top, "features": &v.features} {
		if err := z.Read(name+".npy", ptr); err != nil {
			t.Fatalf("%s: %s: %v", path, name, err)
		}
	}
	if slices.Contains(z.Keys(), "evaluate_top.npy") {
		if err := z.Read("evaluate_top.npy", &v.evaluateTop); err != nil {
			t.Fatal(err)
		}
	}
	v.shape = z.Header("signals.npy").Descr.Shape
	v.featureFiles = z.Header("features.npy").Descr.Shape[0]
	return &v
}

// signal is file i as it was read: [channels][its own length].
func (v *vectors) signal(i int) [][]float64 {
	channels, longest := v.shape[1], v.shape[2]
	out := make([][]float64, channels)
	for c := range out {
		start := (i*channels + c) * longest
		out[c] = v.signals[start : start+int(v.lengths[i])]
	}
	return out
}

// parityCases are the folders SIGOP_EDGE_PARITY holds: each a model folder
// "model" and its vectors.npz (make test writes them; see the Makefile).
func parityCases(t *testing.T) []string {
	root := os.Getenv("SIGOP_EDGE_PARITY")
	if root == "" {
		t.Skip("SIGOP_EDGE_PARITY is not set: make test-edge trains the models and writes their vectors")
	}
	cases, err := filepath.Glob(filepath.Join(root, "*", "vectors.npz"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no */vectors.npz under %s", root)
	}
	for i := range cases {
		cases[i] = filepath.Dir(cases[i])
	}
	return cases
}

// TestParity holds every case to the server's compiled runtime: features
// bit for bit, probabilities within 1e-5, unknown scores within 1e-4
// relative (to 1 for scores below 1), the same top class and unknown
// verdict on every file.
func TestParity(t *testing.T) {
	for _, dir := range parityCases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			m, err := Open(filepath.Join(dir, "model"))
			if err != nil {
				t.Fatal(err)
			}
			v := readVectors(t, filepath.Join(dir, "vectors.npz"))
			files, classes := len(v.lengths), len(m.labels)
			for i := range v.featureFiles {
				x, err := m.prepare([][][]float64{v.signal(i)}, 0, true)
				if err != nil {
					t.Fatal(err)
				}
				f := make([]float32, len(m.transform.biases))
				m.transform.features(x[0], f)
				want := v.features[i*len(f) : (i+1)*len(f)]
				for j := range f {
					if math.Float32bits(f[j]) != math.Float32bits(want[j]) {
						t.Fatalf("file %d: feature %d is %v, the server's %v", i, j, f[j], want[j])
					}
				}
			}
			signals := make([][][]float64, files)
			for i := range signals {
				signals[i] = v.signal(i)
			}
			// files differ in length: one call per file, as evaluate reads them
			var worstP, worstU, worstAbs float64
			for i := range files {
				res, err := m.ClassifyMultichannel(context.Background(), signals[i:i+1])
				if err != nil {
					t.Fatalf("file %d: %v", i, err)
				}
				got := res.Classes[0]
				if top := m.labels[v.top[i]]; got[0].Label != top {
					t.Errorf("file %d: top class %s (%.6f), the server's %s", i, got[0].Label, got[0].Score, top)
				}
				if v.evaluateTop != nil && got[0].Label != m.labels[v.evaluateTop[i]] {
					t.Errorf("file %d: top class %s, sigop evaluate's %s", i, got[0].Label, m.labels[v.evaluateTop[i]])
				}
				for _, c := range got {
					j := indexOf(m.labels, c.Label)
					worstP = math.Max(worstP, math.Abs(float64(c.Score)-float64(v.probabilities[i*classes+j])))
				}
				if len(v.unknown) > 0 {
					u, want := res.Unknown[0], float64(v.unknown[i])
					// relative to the score, or to 1 (the edge of what training looked like) for scores far inside it,
					// whose last bits are the rounding of logits the server sums in float32
					worstU = math.Max(worstU, math.Abs(float64(u.Score)-want)/math.Max(math.Abs(want), 1))
					worstAbs = math.Max(worstAbs, math.Abs(float64(u.Score)-want))
					if u.Unknown != (want > m.unknown.threshold) && math.Abs(want-m.unknown.threshold) > 1e-4*want {
						t.Errorf("file %d: unknown %v at %g, the server's %g (threshold %g)", i, u.Unknown, u.Score, want, m.unknown.threshold)
					}
				}
			}
			t.Logf("%s: %d files (sigop evaluate's top class checked: %v), features of %d bit-equal; probabilities within %.2g, unknown scores within %.2g relative (%.2g absolute)",
				m.name, files, v.evaluateTop != nil, v.featureFiles, worstP, worstU, worstAbs)
			if worstP > 1e-5 || worstU > 1e-4 {
				t.Errorf("probabilities differ by up to %g (1e-5 allowed), unknown scores by %g relative (1e-4)", worstP, worstU)
			}
		})
	}
}

func indexOf(labels []string, label string) int {
	for i, l := range labels {
		if l == label {
			return i
		}
	}
	return -1
}
