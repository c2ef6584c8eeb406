//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sigop-dev/sigop/go/operator"
)

// unheard lists the WAV files `make test-e2e` spoke with voices the digits
// model was not trained on, with their digit (the folder name).
func unheard(t *testing.T) (files []string, digits []string) {
	t.Helper()
	root := os.Getenv("SIGOP_E2E_UNHEARD")
	paths, _ := filepath.Glob(filepath.Join(root, "*", "*.wav"))
	if len(paths) < 10 {
		t.Fatalf("fewer than 10 WAV files under %s", root)
	}
	for _, p := range paths {
		files, digits = append(files, p), append(digits, filepath.Base(filepath.Dir(p)))
	}
	return files, digits
}

// A WAV file on disk, classified by the Go client through the real server:
// decoded, resampled (22,050 -> 16,000 Hz), log-mel inside the graph.
func TestGoClientClassifiesWAVFiles(t *testing.T) {
	files, digits := unheard(t)
	c, err := operator.Dial(addr, operator.WithClassifier("digits"), operator.WithTopK(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wavs := make([][]byte, len(files))
	for i, f := range files {
		if wavs[i], err = os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
	}
	answer, err := c.ClassifyAudio(ctxT(t), wavs)
	if err != nil {
		t.Fatal(err)
	}
	ranked := answer.Classes
	if answer.Model != "digits" || answer.Version != 1 {
		t.Fatalf("answered by %s version %d; want digits version 1", answer.Model, answer.Version)
	}
	correct := 0
	for i, r := range ranked {
		if r[0].Label == digits[i] {
			correct++
		}
	}
	acc := float64(correct) / float64(len(files))
	t.Logf("digits spoken by unheard voices: %d/%d right (%.3f)", correct, len(files), acc)
	if acc < 0.7 {
		t.Fatalf("accuracy %.3f < 0.7 on voices the model never heard", acc)
	}
	one, err := c.ClassifyAudio(ctxT(t), wavs[:1])
	if err != nil || one.Classes[0][0].Label != ranked[0][0].Label {
		t.Fatalf("ClassifyAudio(one) = %v, %v; the batch said %v", one, err, ranked[0])
	}

	// An image classifier cannot take audio (named per call, on the same client); garbage is not audio.
	if _, err := c.ClassifyAudio(ctxT(t), wavs[:1], operator.Model("article")); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("ClassifyAudio on the article model: %v; want FailedPrecondition", err)
	}
	if _, err := c.ClassifyAudio(ctxT(t), [][]byte{[]byte("RIFF but not a WAV")}); status.Code(err) != codes.InvalidArgument ||
		!strings.Contains(err.Error(), "not a sound file") {
		t.Fatalf("ClassifyAudio(garbage): %v; want InvalidArgument naming the problem", err)
	}
}

// The command-line client, as a user runs it.
func TestSigopClientClassifyAudio(t *testing.T) {
	files, digits := unheard(t)
	out, err := sigopClient("classify-audio", "--addr", addr, "--model", "digits", "--top", "1", "--json",
		files[0]).Output()
	if err != nil {
		t.Fatalf("sigop-client classify-audio: %v", err)
	}
	var got struct {
		Input   string
		Classes []operator.Class
	}
	if err := json.Unmarshal(out, &got); err != nil || got.Input != files[0] || len(got.Classes) != 1 {
		t.Fatalf("sigop-client printed %q (%v)", out, err)
	}
	t.Logf("sigop-client classify-audio %s: %s %.3f (spoken: %s)", filepath.Base(files[0]), got.Classes[0].Label,
		got.Classes[0].Score, digits[0])
}
