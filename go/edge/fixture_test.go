package edge

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"codeberg.org/sbinet/npyio/npz"
)

// fixture is a small MiniRocket model written the way sigop exports one
// (manifest.json and minirocket.npz), with random arrays: what the unit
// tests open when no trained model is at hand.
type fixture struct {
	name     string
	labels   []string
	channels int
	samples  int
	rate     float64
	declared bool
	recipe   string
	unknown  string // "", "logit_mahalanobis" or "max_softmax"
}

func (f fixture) write(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	dilations, perDilation := []int64{1, 2, 4}, []int64{2, 1, 1}
	n := 0
	for _, p := range perDilation {
		n += int(p) * len(kernelIndices)
	}
	k := len(f.labels)
	random := func(size int, scale float64) []float32 {
		out := make([]float32, size)
		for i := range out {
			out[i] = float32(rng.NormFloat64() * scale)
		}
		return out
	}
	biases := random(n, 1)
	mask := make([]uint8, len(dilations)*len(kernelIndices)*f.channels)
	for i := range mask {
		mask[i] = uint8(rng.IntN(2))
	}
	for pair := 0; pair < len(mask)/f.channels; pair++ {
		mask[pair*f.channels] = 1 // at least one channel per pair
	}
	scale := make([]float32, n)
	for i := range scale {
		scale[i] = 2
	}
	arrays := map[string]any{"dilations": dilations, "features_per_dilation": perDilation, "biases": biases,
		"mean": random(n, 0.1), "scale": scale, "kernel": random(n*k, 0.3), "bias": random(k, 0.1),
		"channel_mask": mask, "unknown_means": random(k*k, 1), "unknown_precision": identity(k)}
	path := filepath.Join(dir, "minirocket.npz")
	w, err := npz.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range arrays {
		if err := w.Write(name+".npy", v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	sum, err := sha256File(path)
	if err != nil {
		t.Fatal(err)
	}
	recipe := f.recipe
	if recipe == "" {
		recipe = "minirocket"
	}
	details := map[string]any{"labels": f.labels, "model": recipe, "sample_rate_declared": f.declared,
		"front_end": map[string]any{"kind": "waveform", "sample_rate": f.rate, "samples": f.samples,
			"channels": f.channels, "channel_names": names(f.channels), "normalize": false},
		"minirocket": map[string]any{"compiled": map[string]any{"file": "minirocket.npz", "sha256": sum}}}
	if f.unknown != "" {
		details["unknown"] = map[string]any{"method": f.unknown, "threshold": 1.0, "scale": 3.0, "rate": 0.05}
	}
	manifest, _ := json.Marshal(map[string]any{"format": manifestFormat, "name": f.name, "version": 2,
		"kind": "classifier", "details": details})
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func identity(k int) []float32 {
	out := make([]float32, k*k)
	for i := range k {
		out[i*k+i] = 1
	}
	return out
}

func names(channels int) []string {
	if channels == 1 {
		return nil
	}
	out := make([]string, channels)
	for i := range out {
		out[i] = string(rune('x' + i))
	}
	return out
}
