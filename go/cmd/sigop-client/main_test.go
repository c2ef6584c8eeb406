package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sigop-dev/sigop/go/signal"
)

func TestFFTLocalPrintsMagnitude(t *testing.T) {
	var out bytes.Buffer
	if err := runFFT([]string{"--local"}, strings.NewReader("1 0\n0 0"), &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "1\n1\n1\n" {
		t.Fatalf("fft --local of an impulse printed %q; want %q", got, "1\n1\n1\n")
	}
}

func TestFFTJSONComplex(t *testing.T) {
	var out bytes.Buffer
	if err := runFFT([]string{"--local", "--json", "--complex"}, strings.NewReader("0 1 2 3"), &out); err != nil {
		t.Fatal(err)
	}
	var got map[string][]float64
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if want := []float64{6, -2, -2}; !equal(got["real"], want) || !equal(got["imag"], []float64{0, 2, 0}) {
		t.Fatalf("fft --complex --json = %v; want real %v imag [0 2 0]", got, want)
	}
}

func TestGenerateThenPeaks(t *testing.T) {
	var sig, out bytes.Buffer
	if err := runGenerate([]string{"--class", "red", "--seed", "4"}, &sig); err != nil {
		t.Fatal(err)
	}
	if err := runFFT([]string{"--local", "--peaks", "1", "--json"}, &sig, &out); err != nil {
		t.Fatal(err)
	}
	var got struct {
		N     int
		Peaks []signal.Peak
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if c := signal.Red.Cycles[0]; got.N != 1024 || len(got.Peaks) != 1 || got.Peaks[0].Bin < c/2-1 || got.Peaks[0].Bin > c/2+4 {
		t.Fatalf("peaks of a red signal = %+v; want n=1024 and the strongest peak near bin %d", got, c/2)
	}
}

func TestBadInputIsAnError(t *testing.T) {
	for _, in := range []string{"", "1 two 3"} {
		if err := runFFT([]string{"--local"}, strings.NewReader(in), &bytes.Buffer{}); err == nil {
			t.Errorf("fft of %q succeeded; want an error", in)
		}
	}
	if err := runGenerate([]string{"--class", "green"}, &bytes.Buffer{}); err == nil {
		t.Error("generate --class green succeeded; want an error")
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if d := a[i] - b[i]; d > 1e-12 || d < -1e-12 {
			return false
		}
	}
	return true
}
