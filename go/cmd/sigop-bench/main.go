// Command sigop-bench times the Go client calling a real sigop server and
// prints JSON; bench/*.py run it beside in-process baselines measured in the
// same run and print the comparison (`make bench`).
//
//	sigop-bench fft [--addr A | --sigop BIN --graphs DIR] [--shared-memory]
//	sigop-bench empty --addr A
//	sigop-bench classify --addr A --model NAME --images DIR
//	sigop-bench load --addr A --model NAME --images DIR --clients N --duration T
//	sigop-bench stream --addr A --model NAME --n 1024 --streams N --duration T
//	sigop-bench protocols --addr A --model NAME [--calls N --rounds R]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/sigop-dev/sigop/go/operator"
	"github.com/sigop-dev/sigop/go/serverproc"
	"github.com/sigop-dev/sigop/go/signal"
)

// Case is one timed workload: Batch signals of N samples, row r being
// signal.Noise(N, Seed+r) so the Python side can rebuild the same input.
type Case struct {
	Name    string  `json:"name"`
	Batch   int     `json:"batch"`
	N       int     `json:"n"`
	Seed    uint64  `json:"seed"`
	Repeats int     `json:"repeats"`
	Median  float64 `json:"median_seconds"`
	Min     float64 `json:"min_seconds"`
	// LocalMedian is the same workload on operator.Local (gonum, in-process).
	LocalMedian float64 `json:"local_median_seconds"`
	// SharedMedian is the same calls through shared memory (--shared-memory);
	// 0 for cases under operator.SharedMemoryMinBytes, which go over the wire.
	SharedMedian float64 `json:"shared_median_seconds,omitempty"`
}

// Latency is the distribution of sequential single-signal calls.
type Latency struct {
	N     int     `json:"n"`
	Calls int     `json:"calls"`
	P50   float64 `json:"p50_seconds"`
	P99   float64 `json:"p99_seconds"`
}

type report struct {
	Cases   []Case  `json:"cases"`
	Latency Latency `json:"latency"`
}

func main() {
	subcommands := map[string]func([]string) error{"classify": runClassify, "load": runLoad, "stream": runStream, "empty": runEmpty,
		"protocols": runProtocols, "edge": runEdge, "bridge": runBridge}
	if len(os.Args) > 1 && subcommands[os.Args[1]] != nil {
		if err := subcommands[os.Args[1]](os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "sigop-bench %s: %v\n", os.Args[1], err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "fft" {
		os.Args = append(os.Args[:1], os.Args[2:]...)
	}
	sigop := flag.String("sigop", ".venv/bin/sigop", "the sigop executable")
	graphs := flag.String("graphs", "graphs", "folder of exported graphs")
	calls := flag.Int("latency-calls", 2000, "sequential 1024-point calls for the latency percentiles (0: skip)")
	addr := flag.String("addr", "", "time a server already running at this address instead of starting one")
	shared := flag.Bool("shared-memory", false, "also time every case through shared memory (the server needs --allow-shared-memory)")
	flag.Parse()
	if err := run(*sigop, *graphs, *addr, *calls, *shared); err != nil {
		fmt.Fprintln(os.Stderr, "sigop-bench:", err)
		os.Exit(1)
	}
}

func run(sigop, graphs, addr string, calls int, shared bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if addr == "" {
		srv, err := serverproc.Start(ctx, serverproc.Config{Command: sigop, Graphs: graphs, Args: []string{"--allow-shared-memory"}})
		if err != nil {
			return err
		}
		defer srv.Stop(time.Minute)
		addr = srv.Addr
	}
	client, err := operator.Dial(addr)
	if err != nil {
		return err
	}
	defer client.Close()
	var sharedClient *operator.Client
	if shared {
		if sharedClient, err = operator.Dial(addr, operator.WithSharedMemory()); err != nil {
			return err
		}
		defer sharedClient.Close()
		if err := sharedClient.SharedMemory(ctx); err != nil {
			return err
		}
	}

	cases := []Case{
		{Name: "n=1024", Batch: 1, N: 1024, Seed: 100, Repeats: 200},
		{Name: "n=65536", Batch: 1, N: 65536, Seed: 200, Repeats: 30},
		{Name: "n=2^20", Batch: 1, N: 1 << 20, Seed: 300, Repeats: 9},
		{Name: "batch 256x4096", Batch: 256, N: 4096, Seed: 400, Repeats: 9},
	}
	var rep report
	local := operator.NewLocal()
	for _, c := range cases {
		inputs := make([][]float64, c.Batch)
		for r := range inputs {
			inputs[r] = signal.Noise(c.N, c.Seed+uint64(r))
		}
		times, err := timeCalls(func() error { _, err := client.Magnitudes(ctx, inputs); return err }, c.Repeats)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		c.Median, c.Min = times[len(times)/2], times[0]
		localTimes, err := timeCalls(func() error { _, err := local.Magnitudes(ctx, inputs); return err }, c.Repeats)
		if err != nil {
			return fmt.Errorf("%s: local: %w", c.Name, err)
		}
		c.LocalMedian = localTimes[len(localTimes)/2]
		if moved := 8 * c.Batch * (c.N + c.N/2 + 1); sharedClient != nil && moved >= operator.SharedMemoryMinBytes {
			sharedTimes, err := timeCalls(func() error { _, err := sharedClient.Magnitudes(ctx, inputs); return err }, c.Repeats)
			if err != nil {
				return fmt.Errorf("%s: shared memory: %w", c.Name, err)
			}
			c.SharedMedian = sharedTimes[len(sharedTimes)/2]
		}
		rep.Cases = append(rep.Cases, c)
		fmt.Fprintf(os.Stderr, "  %-16s median %8.3f ms (gonum %8.3f ms)\n", c.Name, 1e3*c.Median, 1e3*c.LocalMedian)
	}
	if calls == 0 {
		return json.NewEncoder(os.Stdout).Encode(rep)
	}
	x := [][]float64{signal.Noise(1024, 1)}
	times, err := timeCalls(func() error { _, err := client.Magnitudes(ctx, x); return err }, calls)
	if err != nil {
		return err
	}
	rep.Latency = Latency{N: 1024, Calls: calls, P50: quantile(times, 0.5), P99: quantile(times, 0.99)}
	return json.NewEncoder(os.Stdout).Encode(rep)
}

// timeCalls runs call a few times to warm up, then n timed times, and
// returns the durations in seconds, sorted.
func timeCalls(call func() error, n int) ([]float64, error) {
	for range 3 {
		if err := call(); err != nil {
			return nil, err
		}
	}
	out := make([]float64, n)
	for i := range out {
		start := time.Now()
		if err := call(); err != nil {
			return nil, err
		}
		out[i] = time.Since(start).Seconds()
	}
	slices.Sort(out)
	return out, nil
}

// quantile of durations already sorted (timeCalls sorts them).
func quantile(sorted []float64, p float64) float64 {
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}
