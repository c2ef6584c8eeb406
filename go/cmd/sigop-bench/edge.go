package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"time"

	"codeberg.org/sbinet/npyio/npz"

	"github.com/sigop-dev/sigop/go/classify"
	"github.com/sigop-dev/sigop/go/edge"
	"github.com/sigop-dev/sigop/go/operator"
)

// EdgeResult is one way of classifying the same signals: per-signal
// latency of sequential one-signal calls, and signals per second of calls
// of a whole batch.
type EdgeResult struct {
	Way           string  `json:"way"`
	P50           float64 `json:"p50_seconds"`
	P99           float64 `json:"p99_seconds"`
	SignalsPerSec float64 `json:"signals_per_second"`
}

// runEdge times the pure-Go runtime on one core and on every core, and
// (with --addr) the same model served, called with ClassifySignal from Go,
// on the signals of a parity case's vectors.npz, in one run.
func runEdge(args []string) error {
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	dir := fs.String("model-dir", "", "the exported model folder")
	vectors := fs.String("vectors", "", "a parity case's vectors.npz: its signals are timed")
	addr := fs.String("addr", "", "also time the model served here (ClassifySignal from Go)")
	model := fs.String("model", "", "the served model's name")
	calls := fs.Int("calls", 300, "sequential one-signal calls timed per way")
	batch := fs.Int("batch", 256, "signals per batch call")
	if err := fs.Parse(args); err != nil {
		return err
	}
	signals, err := caseSignals(*vectors)
	if err != nil {
		return err
	}
	for len(signals) < *batch {
		signals = append(signals, signals...)
	}
	ways := map[string]classify.Classifier{}
	for name, workers := range map[string]int{"edge, 1 core": 1, fmt.Sprintf("edge, %d cores", runtime.GOMAXPROCS(0)): 0} {
		m, err := edge.Open(*dir, edge.WithWorkers(workers))
		if err != nil {
			return err
		}
		ways[name] = m
	}
	if *addr != "" {
		c, err := operator.Dial(*addr, operator.WithClassifier(*model))
		if err != nil {
			return err
		}
		defer c.Close()
		ways["served (ClassifySignal from Go)"] = c
	}
	var out []EdgeResult
	ctx := context.Background()
	for _, way := range slices.Sorted(maps.Keys(ways)) {
		c := ways[way]
		call := func(x [][][]float64) error { _, err := c.ClassifyMultichannel(ctx, x, classify.TopK(1)); return err }
		if err := call(signals[:1]); err != nil { // warm-up
			return fmt.Errorf("%s: %w", way, err)
		}
		times := make([]float64, *calls)
		for i := range times {
			t0 := time.Now()
			if err := call(signals[i%len(signals) : i%len(signals)+1]); err != nil {
				return err
			}
			times[i] = time.Since(t0).Seconds()
		}
		slices.Sort(times)
		t0 := time.Now()
		rounds := 3
		for range rounds {
			if err := call(signals[:*batch]); err != nil {
				return err
			}
		}
		perSec := float64(rounds**batch) / time.Since(t0).Seconds()
		out = append(out, EdgeResult{Way: way, P50: times[len(times)/2], P99: times[len(times)*99/100], SignalsPerSec: perSec})
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// caseSignals are a vectors.npz's signals, each [channels][longest]
// (zero-padded as the file's signals array holds them: one length, so a
// batch is one call).
func caseSignals(path string) ([][][]float64, error) {
	z, err := npz.Open(path)
	if err != nil {
		return nil, err
	}
	defer z.Close()
	var flat []float64
	if err := z.Read("signals.npy", &flat); err != nil {
		return nil, err
	}
	shape := z.Header("signals.npy").Descr.Shape
	out := make([][][]float64, shape[0])
	for i := range out {
		out[i] = make([][]float64, shape[1])
		for c := range out[i] {
			start := (i*shape[1] + c) * shape[2]
			out[i][c] = flat[start : start+shape[2]]
		}
	}
	return out, nil
}
