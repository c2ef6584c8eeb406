package signal_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/sigop-dev/sigop/go/signal"
)

// Go's article classes and parameters are the ones in tests/vectors/article.json,
// which Python's sigop.article wrote: both languages draw the same class structure.
func TestArticleMatchesSharedVectors(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "tests", "vectors", "article.json"))
	if err != nil {
		t.Fatal(err)
	}
	var shared struct {
		Classes []struct {
			Name   string
			Cycles [3]int
		}
		Params struct {
			N              int        `json:"n"`
			Amplitudes     [3]float64 `json:"amplitudes"`
			CycleJitter    int        `json:"cycle_jitter"`
			FrequencyNoise float64    `json:"frequency_noise"`
			AmplitudeNoise float64    `json:"amplitude_noise"`
			SampleNoise    float64    `json:"sample_noise"`
		}
	}
	if err := json.Unmarshal(b, &shared); err != nil {
		t.Fatal(err)
	}
	if len(shared.Classes) != len(signal.Classes) {
		t.Fatalf("Go has %d classes; article.json %d", len(signal.Classes), len(shared.Classes))
	}
	for i, c := range signal.Classes {
		if c.Name != shared.Classes[i].Name || c.Cycles != shared.Classes[i].Cycles {
			t.Errorf("class %d: Go %+v; article.json %+v", i, c, shared.Classes[i])
		}
	}
	p := signal.DefaultParams()
	sp := shared.Params
	if p.N != sp.N || p.Amplitudes != sp.Amplitudes || p.CycleJitter != sp.CycleJitter ||
		p.FrequencyNoise != sp.FrequencyNoise || p.AmplitudeNoise != sp.AmplitudeNoise || p.SampleNoise != sp.SampleNoise {
		t.Errorf("DefaultParams() = %+v; article.json has %+v", p, sp)
	}
}
