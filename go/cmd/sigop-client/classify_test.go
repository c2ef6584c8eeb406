package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"

	operatorv1 "github.com/sigop-dev/sigop/go/gen/sigop/operator/v1"
	"github.com/sigop-dev/sigop/go/operator"
)

// fakeClassifier ranks "blue" first for inputs whose first value is positive.
type fakeClassifier struct {
	operatorv1.UnimplementedOperatorServer
}

func rank(blue bool) *operatorv1.Classification {
	first, second := "red", "blue"
	if blue {
		first, second = second, first
	}
	return &operatorv1.Classification{Classes: []*operatorv1.Class{{Label: first, Score: 0.9}, {Label: second, Score: 0.1}}}
}

var signalCalls atomic.Int64

func (fakeClassifier) ClassifySignal(_ context.Context, req *operatorv1.ClassifySignalRequest) (*operatorv1.ClassifySignalResponse, error) {
	signalCalls.Add(1)
	shape := req.GetSignals().GetShape()
	rows, n := 1, int(shape[len(shape)-1])
	if len(shape) == 2 {
		rows = int(shape[0])
	}
	// It answers as the model and version asked for, version 0 as 4 (the "newest").
	out := &operatorv1.ClassifySignalResponse{ModelSpec: &operatorv1.ModelSpec{Name: req.GetModelSpec().GetName(),
		Version: max(4, req.GetModelSpec().GetVersion())}}
	for r := range rows {
		last := req.Signals.Content[8*r*n+7] // sign bit of the row's first little-endian float64
		out.Classifications = append(out.Classifications, rank(last&0x80 == 0 && req.GetSampleRate() != 8000))
	}
	return out, nil
}

// ClassifyAudio ranks "blue" first for files that start with "RIFF".
func (fakeClassifier) ClassifyAudio(_ context.Context, req *operatorv1.ClassifyAudioRequest) (*operatorv1.ClassifyAudioResponse, error) {
	out := &operatorv1.ClassifyAudioResponse{}
	for _, a := range req.GetAudio() {
		out.Classifications = append(out.Classifications, rank(strings.HasPrefix(string(a), "RIFF")))
	}
	return out, nil
}

func (fakeClassifier) Classify(_ context.Context, req *operatorv1.ClassifyRequest) (*operatorv1.ClassifyResponse, error) {
	out := &operatorv1.ClassifyResponse{}
	for _, img := range req.GetImages() {
		out.Classifications = append(out.Classifications, rank(string(img) == "blue"))
	}
	return out, nil
}

func serveFake(t *testing.T) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	operatorv1.RegisterOperatorServer(s, fakeClassifier{})
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

func TestClassifySignalPrintsOneRankingPerLine(t *testing.T) {
	addr := serveFake(t)
	var out bytes.Buffer
	err := runClassifySignal([]string{"--addr", addr, "--top", "1"}, strings.NewReader("1 2 3\n\n-1 2 3\n"), &out)
	if err != nil {
		t.Fatal(err)
	}
	want := "stdin:1\tblue 0.9000\tred 0.1000\nstdin:3\tred 0.9000\tblue 0.1000\n"
	if out.String() != want {
		t.Fatalf("classify-signal printed %q; want %q", out.String(), want)
	}
}

func TestClassifyNamesEachImage(t *testing.T) {
	addr := serveFake(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	os.WriteFile(a, []byte("blue"), 0o644)
	os.WriteFile(b, []byte("other"), 0o644)
	var out bytes.Buffer
	if err := runClassify([]string{"--addr", addr, "--json", a, b}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"input":"`+a) || !strings.Contains(lines[0], `{"label":"blue","score":0.9}`) ||
		!strings.Contains(lines[1], `{"label":"red","score":0.9}`) {
		t.Fatalf("classify --json printed %q", out.String())
	}
	if err := runClassifySignal([]string{"--addr", addr}, strings.NewReader("1 x 2"), &bytes.Buffer{}); err == nil {
		t.Fatal("classify-signal accepted a non-number")
	}
}

func TestClassifyAudioSendsEachFileAndSignalsCarryTheirRate(t *testing.T) {
	addr := serveFake(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.flac")
	os.WriteFile(a, []byte("RIFF...."), 0o644)
	os.WriteFile(b, []byte("fLaC...."), 0o644)
	var out bytes.Buffer
	if err := runClassifyAudio([]string{"--addr", addr, "--top", "1", a, b}, &out); err != nil {
		t.Fatal(err)
	}
	if want := a + "\tblue 0.9000\tred 0.1000\n" + b + "\tred 0.9000\tblue 0.1000\n"; out.String() != want {
		t.Fatalf("classify-audio printed %q; want %q", out.String(), want)
	}
	out.Reset()
	// The fake ranks red first at 8000 Hz: the flag must reach the request.
	if err := runClassifySignal([]string{"--addr", addr, "--sample-rate", "8000"}, strings.NewReader("1 2 3\n"), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "stdin:1\tred") {
		t.Fatalf("classify-signal --sample-rate 8000 printed %q", out.String())
	}
	if err := runClassifyAudio([]string{"--addr", addr, filepath.Join(dir, "missing.wav")}, &out); err == nil {
		t.Fatal("classify-audio accepted a missing file")
	}
	if err := runClassifySignal([]string{"--addr", addr, "--sample-rate", "-1"}, strings.NewReader("1 2\n"), &out); err == nil ||
		!strings.Contains(err.Error(), "sample rate -1") {
		t.Fatalf("classify-signal --sample-rate -1: err = %v", err)
	}
}

func (fakeClassifier) ListModels(_ context.Context, req *operatorv1.ListModelsRequest) (*operatorv1.ListModelsResponse, error) {
	return &operatorv1.ListModelsResponse{Models: []*operatorv1.ModelStatus{
		{Name: "article", Versions: []*operatorv1.ModelVersionStatus{
			{Version: 2, State: operatorv1.ModelState_MODEL_STATE_AVAILABLE, Kind: "classifier", Runtime: "litert float32", Labels: []string{"blue", "red"}},
			{Version: 1, State: operatorv1.ModelState_MODEL_STATE_FAILED, Message: "sha256 mismatch"},
		}},
		{Name: "plaid", Versions: []*operatorv1.ModelVersionStatus{
			{Version: 3, State: operatorv1.ModelState_MODEL_STATE_AVAILABLE, Kind: "classifier", Runtime: "compiled", Labels: []string{"fan", "kettle"},
				ManifestJson: `{"format": "sigop.manifest/v1", "name": "plaid", "kind": "classifier", "details": {"model": "minirocket", ` +
					`"front_end": {"kind": "waveform"}, "minirocket": {"compiled": {"file": "minirocket.npz", "sha256": "0"}}}}`},
		}},
	}}, nil
}

func TestClassifySignalSendsEachLengthInItsOwnCallAndKeepsOrder(t *testing.T) {
	addr := serveFake(t)
	before := signalCalls.Load()
	var out bytes.Buffer
	in := "1 2 3\n-1 2\n4,5,6,7\n-5 1 1\n"
	if err := runClassifySignal([]string{"--addr", addr, "--top", "1"}, strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	want := "stdin:1\tblue 0.9000\tred 0.1000\nstdin:2\tred 0.9000\tblue 0.1000\nstdin:3\tblue 0.9000\tred 0.1000\nstdin:4\tred 0.9000\tblue 0.1000\n"
	if out.String() != want {
		t.Fatalf("classify-signal printed %q; want %q", out.String(), want)
	}
	if calls := signalCalls.Load() - before; calls != 3 {
		t.Fatalf("%d ClassifySignal calls for lengths 3, 2, 4; want 3", calls)
	}
}

func TestClassifySignalReadsNpyAndCSVFiles(t *testing.T) {
	addr := serveFake(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.npy"), filepath.Join(dir, "b.csv")
	os.WriteFile(a, npyBytes("<f8", false, []int{2, 3}, f64le(1, 2, 3, -1, 2, 3)), 0o644)
	os.WriteFile(b, []byte("-1,0.5,2\n"), 0o644)
	var out bytes.Buffer
	err := runClassifySignal([]string{"--addr", addr, "--top", "1", "--json", "--model", "m", "--model-version", "7", a, b}, nil, &out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		`{"classes":[{"label":"blue","score":0.9},{"label":"red","score":0.1}],"input":"` + a + `:0","model":"m","version":7}`,
		`{"classes":[{"label":"red","score":0.9},{"label":"blue","score":0.1}],"input":"` + a + `:1","model":"m","version":7}`,
		`{"classes":[{"label":"red","score":0.9},{"label":"blue","score":0.1}],"input":"` + b + `:1","model":"m","version":7}`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("classify-signal --json printed\n%s\nwant\n%s", out.String(), strings.Join(want, "\n"))
	}
}

func TestModelsListsEveryVersion(t *testing.T) {
	addr := serveFake(t)
	var out bytes.Buffer
	if err := runModels([]string{"--addr", addr}, &out); err != nil {
		t.Fatal(err)
	}
	want := "article\t2\tclassifier\tlitert float32\tAVAILABLE\tblue,red\tserver only\narticle\t1\t\t\tFAILED: sha256 mismatch\t\n" +
		"plaid\t3\tclassifier\tcompiled\tAVAILABLE\tfan,kettle\truns in Go (edge)\n"
	if out.String() != want {
		t.Fatalf("models printed %q; want %q", out.String(), want)
	}
	out.Reset()
	if err := runModels([]string{"--addr", addr, "--json"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"article":[{"version":2,"available":true,"kind":"classifier","runtime":"litert float32","labels":["blue","red"],"runs_in_go":false}`) ||
		!strings.Contains(out.String(), `"labels":["fan","kettle"],"runs_in_go":true}`) {
		t.Fatalf("models --json printed %s", out.String())
	}
}

func TestConnectionFlagsAreCheckedBeforeDialling(t *testing.T) {
	err := runModels([]string{"--addr", "127.0.0.1:1", "--tls-cert", "c.pem"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--tls-cert and --tls-key go together") {
		t.Fatalf("models --tls-cert without --tls-key: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "token")
	os.WriteFile(empty, []byte("  \n"), 0o600)
	if err := runModels([]string{"--addr", "127.0.0.1:1", "--token-file", empty}, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "is empty") {
		t.Fatalf("models with an empty token file: %v", err)
	}
}

func TestARankingEndsWithTheUnknownScoreAndSaysWhenItIsOverTheThreshold(t *testing.T) {
	r := &operator.Result{Model: "m", Classes: [][]operator.Class{{{Label: "fan", Score: 0.9}}, {{Label: "fan", Score: 0.6}}},
		Unknown: []operator.Unknown{{Score: 0.25}, {Score: 3.5, Unknown: true}}}
	var b bytes.Buffer
	for i, name := range []string{"a.npy", "b.npy"} {
		if err := printRanking(&b, name, r, i, false); err != nil {
			t.Fatal(err)
		}
	}
	want := "a.npy\tfan 0.9000\tunknown-score 0.2500\nb.npy\tfan 0.6000\tunknown-score 3.5000 UNKNOWN\n"
	if b.String() != want {
		t.Fatalf("printed %q; want %q", b.String(), want)
	}
	b.Reset()
	if err := printRanking(&b, "b.npy", r, 1, true); err != nil || !strings.Contains(b.String(), `"unknown":{"score":3.5,"unknown":true}`) {
		t.Fatalf("JSON %s, %v; want the unknown score in it", b.String(), err)
	}
	b.Reset()
	if err := printRanking(&b, "a.npy", &operator.Result{Classes: r.Classes}, 0, false); err != nil || b.String() != "a.npy\tfan 0.9000\n" {
		t.Fatalf("a model without an unknown score printed %q, %v", b.String(), err)
	}
}

// A logger's CSV piped in (a header, then one row per sample) is one signal
// of one column, at the rate of its time column, as the same file would be.
func TestClassifySignalReadsAHeadedTableOnStdinAsOneSignal(t *testing.T) {
	addr := serveFake(t)
	var out bytes.Buffer
	in := "timestamp,value\n1700000000000,-1\n1700000000125,2\n1700000000250,3\n"
	// -1 first: the fake ranks red first; one line printed, not one per row
	if err := runClassifySignal([]string{"--addr", addr, "--top", "1"}, strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "stdin\tred 0.9000\tblue 0.1000\n" {
		t.Fatalf("classify-signal on a headed table printed %q; want one signal, red", out.String())
	}
}
