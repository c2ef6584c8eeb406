package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// manifestFormat is the only manifest format this runtime reads.
const manifestFormat = "sigop.manifest/v1"

// manifest is what this runtime reads of manifest.json.
type manifest struct {
	Format  string `json:"format"`
	Name    string `json:"name"`
	Version int64  `json:"version"`
	Kind    string `json:"kind"`
	Details struct {
		Labels             []string `json:"labels"`
		Model              string   `json:"model"`
		SampleRateDeclared *bool    `json:"sample_rate_declared"`
		FrontEnd           struct {
			Kind         string   `json:"kind"`
			SampleRate   float64  `json:"sample_rate"`
			Samples      int      `json:"samples"`
			Channels     int      `json:"channels"`
			ChannelNames []string `json:"channel_names"`
			Normalize    bool     `json:"normalize"`
		} `json:"front_end"`
		MiniRocket struct {
			Compiled *struct {
				File   string `json:"file"`
				SHA256 string `json:"sha256"`
			} `json:"compiled"`
		} `json:"minirocket"`
		Unknown *unknownRecord `json:"unknown"`
	} `json:"details"`
}

type unknownRecord struct {
	Method    string  `json:"method"`
	Threshold float64 `json:"threshold"`
	Scale     float64 `json:"scale"`
	Rate      float64 `json:"rate"`
}

func readManifest(folder string) (*manifest, error) {
	path := filepath.Join(folder, "manifest.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: no manifest: %w", path, err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: not valid JSON: %w", path, err)
	}
	if m.Format != manifestFormat {
		return nil, fmt.Errorf("%s: format is %q, expected %q", path, m.Format, manifestFormat)
	}
	if m.Version == 0 {
		m.Version = 1
	}
	return &m, nil
}

// declaresRate reports a model trained at a stated rate; one trained without
// one is taken at a nominal rate it cannot resample from.
func (m *manifest) declaresRate() bool {
	return m.Details.SampleRateDeclared == nil || *m.Details.SampleRateDeclared
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
