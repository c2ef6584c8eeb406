package edge

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"

	"codeberg.org/sbinet/npyio/npz"

	"github.com/sigop-dev/sigop/go/classify"
)

// Option configures Open.
type Option func(*Model)

// WithWorkers runs a call's signals on n goroutines; 0 (the default): one
// per CPU (GOMAXPROCS). One signal is always one goroutine's work.
func WithWorkers(n int) Option { return func(m *Model) { m.workers = n } }

// WithTopK limits each input's classes to the k best unless a call says
// otherwise; 0 (the default): every label.
func WithTopK(k int) Option { return func(m *Model) { m.topK = k } }

// Open reads an exported model for this runtime: a version folder (holding
// manifest.json and minirocket.npz), or a model folder of numbered version
// folders as `sigop serve` reads them, whose newest complete version it
// opens. A model this runtime cannot run is refused here, naming its recipe:
// its network needs TensorFlow, so serve it with `sigop serve`.
func Open(folder string, opts ...Option) (*Model, error) {
	dir, err := versionFolder(folder)
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	m, err := load(dir)
	if err != nil {
		return nil, fmt.Errorf("edge: %s: %w", dir, err)
	}
	for _, o := range opts {
		o(m)
	}
	if m.workers <= 0 {
		m.workers = runtime.GOMAXPROCS(0)
	}
	if m.topK < 0 {
		return nil, fmt.Errorf("edge: top-k %d; expected 0 (every label) or more", m.topK)
	}
	return m, nil
}

// versionFolder is folder when it holds a manifest, else its newest
// numbered subfolder that does (a version still being written has none:
// sigop writes the manifest last).
func versionFolder(folder string) (string, error) {
	if _, err := os.Stat(filepath.Join(folder, "manifest.json")); err == nil {
		return folder, nil
	}
	entries, err := os.ReadDir(folder)
	if err != nil {
		return "", err
	}
	var versions []int64
	for _, e := range entries {
		if v, err := strconv.ParseInt(e.Name(), 10, 64); err == nil && v > 0 && e.IsDir() {
			if _, err := os.Stat(filepath.Join(folder, e.Name(), "manifest.json")); err == nil {
				versions = append(versions, v)
			}
		}
	}
	if len(versions) == 0 {
		return "", fmt.Errorf("%s: no manifest.json, and no numbered version folder holding one", folder)
	}
	return filepath.Join(folder, strconv.FormatInt(slices.Max(versions), 10)), nil
}

func load(dir string) (*Model, error) {
	mf, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	d := mf.Details
	if err := mf.runnable(); err != nil {
		return nil, err
	}
	compiled := d.MiniRocket.Compiled
	path := filepath.Join(dir, filepath.Base(compiled.File))
	if sum, err := sha256File(path); err != nil || sum != compiled.SHA256 {
		return nil, fmt.Errorf("%s is missing or does not match its manifest's sha256", path)
	}
	channels := max(d.FrontEnd.Channels, 1)
	if d.FrontEnd.Samples < 1 || !(d.FrontEnd.SampleRate > 0) {
		return nil, fmt.Errorf("the manifest's front end has %d samples at %g Hz", d.FrontEnd.Samples, d.FrontEnd.SampleRate)
	}
	m := &Model{name: mf.Name, version: mf.Version, labels: d.Labels, channels: channels,
		channelNames: d.FrontEnd.ChannelNames, rate: d.FrontEnd.SampleRate, samples: d.FrontEnd.Samples,
		declaresRate: mf.declaresRate(), folder: dir}
	if err := m.loadArrays(path, d.Unknown); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(m.labels) != m.head.classes() {
		return nil, fmt.Errorf("%d labels for a head of %d classes", len(m.labels), m.head.classes())
	}
	return m, nil
}

// errRecipe is wrapped by Open's refusal of a network.
var errRecipe = fmt.Errorf("a network recipe: %w", classify.ErrUnsupported)

// Check says whether a model, by its manifest.json (as ListModels carries
// it), runs in this runtime: nil, or why it does not.
func Check(manifestJSON []byte) error {
	var mf manifest
	if err := json.Unmarshal(manifestJSON, &mf); err != nil {
		return fmt.Errorf("edge: the manifest is not valid JSON: %w", err)
	}
	return mf.runnable()
}

// runnable is nil for a model this runtime runs, else why not.
func (mf *manifest) runnable() error {
	d := mf.Details
	if mf.Kind != "classifier" {
		return fmt.Errorf("model %q is a %s model; this runtime runs classifiers (the FFT is operator.Local): %w",
			mf.Name, mf.Kind, classify.ErrUnsupported)
	}
	if d.Model != "minirocket" || d.MiniRocket.Compiled == nil {
		recipe := d.Model
		if recipe == "" {
			recipe = "transfer"
		}
		return fmt.Errorf("model %q is a %s model (front end %q): %w: its network runs on TensorFlow; "+
			"serve it with `sigop serve` and call it with operator.Client", mf.Name, recipe, d.FrontEnd.Kind, errRecipe)
	}
	if d.FrontEnd.Normalize {
		return fmt.Errorf("model %q normalises its signals, which no MiniRocket export does: %w", mf.Name, classify.ErrUnsupported)
	}
	return nil
}

func (m *Model) loadArrays(path string, unknown *unknownRecord) error {
	z, err := npz.Open(path)
	if err != nil {
		return err
	}
	defer z.Close()
	has := func(name string) bool { return slices.Contains(z.Keys(), name) }
	var dilations, perDilation []int64
	var biases []float32
	var mask []uint8
	h := &head{}
	for name, ptr := range map[string]any{"dilations": &dilations, "features_per_dilation": &perDilation,
		"biases": &biases, "mean": &h.mean, "scale": &h.scale, "kernel": &h.kernel, "bias": &h.bias} {
		if err := z.Read(name+".npy", ptr); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if has("channel_mask.npy") {
		if err := z.Read("channel_mask.npy", &mask); err != nil {
			return fmt.Errorf("channel_mask: %w", err)
		}
	}
	if has("residual_basis.npy") {
		if err := z.Read("residual_basis.npy", &h.basis); err != nil {
			return fmt.Errorf("residual_basis: %w", err)
		}
		h.dimensions = z.Header("residual_basis.npy").Descr.Shape[0]
	}
	if m.transform, err = newMiniRocket(dilations, perDilation, biases, mask, m.channels); err != nil {
		return err
	}
	n := len(biases)
	switch {
	case len(h.mean) != n || len(h.scale) != n:
		return fmt.Errorf("mean (%d) and scale (%d) are not one per feature (%d)", len(h.mean), len(h.scale), n)
	case h.basis == nil && len(h.kernel) != n*len(h.bias):
		return fmt.Errorf("a head of %d weights for %d features x %d classes", len(h.kernel), n, len(h.bias))
	case h.basis != nil && len(h.basis) != n*h.dimensions:
		return fmt.Errorf("a subspace of %d values for %d dimensions x %d features", len(h.basis), h.dimensions, n)
	}
	m.head = h
	if unknown == nil {
		return nil
	}
	u := &unknownScore{method: unknown.Method, scale: unknown.Scale, threshold: unknown.Threshold, rate: unknown.Rate}
	if u.method == "logit_mahalanobis" {
		var means, precision []float32
		if err := z.Read("unknown_means.npy", &means); err != nil {
			return fmt.Errorf("unknown_means: %w", err)
		}
		if err := z.Read("unknown_precision.npy", &precision); err != nil {
			return fmt.Errorf("unknown_precision: %w", err)
		}
		u.means, u.precision = widen(means), widen(precision)
	}
	if err := u.check(h.classes()); err != nil {
		return err
	}
	m.unknown = u
	return nil
}

func widen(x []float32) []float64 { // float64 copies
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}
