package classify

import (
	"math"
	"strings"
	"testing"
)

func TestResolveAppliesOptionsOverDefaultsAndRefusesWhatNoModelTakes(t *testing.T) {
	o, err := Resolve(Call{Model: "plaid", TopK: 3}, []CallOption{Version(2), SampleRate(30000)})
	if err != nil || o != (Call{Model: "plaid", Version: 2, TopK: 3, SampleRate: 30000}) {
		t.Fatalf("Resolve = %+v, %v", o, err)
	}
	for _, c := range []struct {
		opt  CallOption
		says string
	}{
		{Version(-1), "version -1; expected 0 (the newest)"},
		{TopK(-2), "top-k -2"},
		{SampleRate(math.NaN()), "sample rate NaN Hz"},
		{SampleRate(math.Inf(1)), "sample rate +Inf Hz"},
	} {
		if _, err := Resolve(Call{}, []CallOption{c.opt}); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%q: %v", c.says, err)
		}
	}
}

func TestStreamConfigCheck(t *testing.T) {
	if err := (StreamConfig{Hop: 0.5, MinDuration: 2, Threshold: 0.7}).Check(); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []StreamConfig{{Hop: -1}, {MinDuration: math.NaN()}, {Threshold: math.Inf(1)}} {
		if err := cfg.Check(); err == nil || !strings.Contains(err.Error(), "expected 0 or a positive number") {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}
