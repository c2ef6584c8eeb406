package operator

import (
	"context"
	"fmt"

	operatorv1 "github.com/sigop-dev/sigop/go/gen/sigop/operator/v1"
)

// ModelVersion describes one version of a served model.
type ModelVersion struct {
	Version   int64    `json:"version"`
	Available bool     `json:"available"`         // loaded and warmed up; false: its files did not load
	Message   string   `json:"message,omitempty"` // why it failed, why newer files were rejected, why it is not on LiteRT
	Kind      string   `json:"kind,omitempty"`    // "fft" or "classifier"
	Runtime   string   `json:"runtime,omitempty"` // "tensorflow", "litert float32" or "litert int8"
	Labels    []string `json:"labels,omitempty"`
	Manifest  string   `json:"-"` // the version's manifest.json
}

// Models lists the server's models and their versions, newest first; name
// empty lists all of them.
func (c *Client) Models(ctx context.Context, name string) (map[string][]ModelVersion, error) {
	resp, err := c.stub.ListModels(ctx, &operatorv1.ListModelsRequest{Name: name})
	if err != nil {
		return nil, fmt.Errorf("sigop: ListModels: %w", err)
	}
	out := make(map[string][]ModelVersion, len(resp.GetModels()))
	for _, m := range resp.GetModels() {
		for _, v := range m.GetVersions() {
			out[m.GetName()] = append(out[m.GetName()], ModelVersion{
				Version: v.GetVersion(), Available: v.GetState() == operatorv1.ModelState_MODEL_STATE_AVAILABLE,
				Message: v.GetMessage(), Kind: v.GetKind(), Runtime: v.GetRuntime(), Labels: v.GetLabels(), Manifest: v.GetManifestJson(),
			})
		}
	}
	return out, nil
}
