package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/sigop-dev/sigop/go/inference"
	"github.com/sigop-dev/sigop/go/operator"
	"github.com/sigop-dev/sigop/go/signal"
)

// ProtocolResult is one protocol's sequential calls at one batch size,
// pooled over rounds (calls/s: the median round's).
type ProtocolResult struct {
	Protocol    string    `json:"protocol"` // "ClassifySignal" or "ModelInfer"
	Batch       int       `json:"batch"`
	Calls       int       `json:"calls"`
	CallsPerSec float64   `json:"calls_per_second"` // median of the rounds'
	Rounds      []float64 `json:"rounds_calls_per_second"`
	P50         float64   `json:"p50_seconds"`
	P99         float64   `json:"p99_seconds"`
}

// runProtocols times the same article signals through ClassifySignal (the
// Operator service) and ModelInfer (the Open Inference Protocol) on one
// server and model, call by call in turn.
func runProtocols(args []string) error {
	fs := flag.NewFlagSet("protocols", flag.ContinueOnError)
	addr := fs.String("addr", "", "sigop server address")
	model := fs.String("model", "", "classifier that takes signals")
	calls := fs.Int("calls", 300, "calls per round at batch 1; batch-32 rounds make calls/10")
	rounds := fs.Int("rounds", 3, "interleaved rounds")
	if err := fs.Parse(args); err != nil {
		return err
	}
	g, err := signal.NewGenerator(signal.DefaultParams(), 17)
	if err != nil {
		return err
	}
	var rows [][]float64
	for i := range 32 {
		x, _ := g.Signal(signal.Classes[i%len(signal.Classes)])
		rows = append(rows, x)
	}
	op, err := operator.Dial(*addr, operator.WithClassifier(*model))
	if err != nil {
		return err
	}
	defer op.Close()
	oip, err := inference.Dial(*addr)
	if err != nil {
		return err
	}
	defer oip.Close()
	ctx := context.Background()
	callers := map[string]func([][]float64) error{
		"ClassifySignal": func(x [][]float64) error { _, err := op.ClassifySignals(ctx, x); return err },
		"ModelInfer": func(x [][]float64) error {
			_, err := oip.Infer(ctx, *model, []*inference.Tensor{inference.FP64Rows("signals", x)})
			return err
		},
	}
	protocols := []string{"ClassifySignal", "ModelInfer"}
	var out []ProtocolResult
	for _, batch := range []int{1, 32} {
		n := *calls
		if batch > 1 {
			n = max(5, *calls/10)
		}
		for _, p := range protocols { // warm-up
			if err := callers[p](rows[:batch]); err != nil {
				return err
			}
		}
		// Calls alternate one by one (which goes first flips each pair), so both protocols meet the same
		// machine: on a shared, noisy host, blocks of one then the other drift apart by more than they differ.
		times := map[string][][]float64{} // per protocol, per round
		for round := range *rounds {
			for _, p := range protocols {
				times[p] = append(times[p], nil)
			}
			for i := range n {
				order := protocols
				if i%2 == 1 {
					order = []string{protocols[1], protocols[0]}
				}
				start := (i * batch) % len(rows)
				for _, p := range order {
					t0 := time.Now()
					if err := callers[p](rows[start : start+batch]); err != nil {
						return fmt.Errorf("%s: %w", p, err)
					}
					times[p][round] = append(times[p][round], time.Since(t0).Seconds())
				}
			}
		}
		for _, p := range protocols {
			r := ProtocolResult{Protocol: p, Batch: batch, Calls: n * *rounds}
			var pooled []float64
			for _, ts := range times[p] {
				total := 0.0
				for _, t := range ts {
					total += t
				}
				r.Rounds = append(r.Rounds, float64(len(ts))/total)
				pooled = append(pooled, ts...)
			}
			sorted := slices.Sorted(slices.Values(r.Rounds))
			r.CallsPerSec = sorted[len(sorted)/2]
			slices.Sort(pooled)
			r.P50, r.P99 = quantile(pooled, 0.5), quantile(pooled, 0.99)
			out = append(out, r)
		}
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}
