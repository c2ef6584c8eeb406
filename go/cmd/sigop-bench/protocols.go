package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"slices"

	"github.com/sigop-dev/sigop/go/inference"
	"github.com/sigop-dev/sigop/go/operator"
	"github.com/sigop-dev/sigop/go/signal"
)

// ProtocolResult is one protocol's sequential calls at one batch size,
// pooled over interleaved rounds.
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
// server and model, in rounds that alternate which goes first, so both see
// the same machine.
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
	var out []ProtocolResult
	for _, batch := range []int{1, 32} {
		n := *calls
		if batch > 1 {
			n = max(5, *calls/10)
		}
		results := map[string]*ProtocolResult{}
		pooled := map[string][]float64{}
		for round := range *rounds {
			order := []string{"ClassifySignal", "ModelInfer"}
			if round%2 == 1 {
				slices.Reverse(order)
			}
			for _, protocol := range order {
				i := 0
				call := func() error {
					start := (i * batch) % len(rows)
					i++
					return callers[protocol](rows[start : start+batch])
				}
				times, err := timeCalls(call, n)
				if err != nil {
					return err
				}
				total := 0.0
				for _, t := range times {
					total += t
				}
				r := results[protocol]
				if r == nil {
					r = &ProtocolResult{Protocol: protocol, Batch: batch}
					results[protocol] = r
				}
				r.Calls += n
				r.Rounds = append(r.Rounds, float64(n)/total)
				pooled[protocol] = append(pooled[protocol], times...)
			}
		}
		for _, protocol := range []string{"ClassifySignal", "ModelInfer"} {
			r := results[protocol]
			sorted := slices.Sorted(slices.Values(r.Rounds))
			r.CallsPerSec = sorted[len(sorted)/2]
			times := slices.Sorted(slices.Values(pooled[protocol]))
			r.P50, r.P99 = quantile(times, 0.5), quantile(times, 0.99)
			out = append(out, *r)
		}
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}
