//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigop-dev/sigop/go/operator"
	"github.com/sigop-dev/sigop/go/serverproc"
	"github.com/sigop-dev/sigop/go/signal"
)

const (
	loadClients  = 16
	loadDuration = 30 * time.Second
	killAfter    = 10 * time.Second
)

func startReplica(t *testing.T, port int) *serverproc.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv, err := serverproc.Start(ctx, serverproc.Config{
		Command: os.Getenv("SIGOP_BIN"), Graphs: os.Getenv("SIGOP_GRAPHS"), Port: port,
		Args: []string{"--poll-seconds", "0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// burnCPU keeps every core busy with processes of its own until the test ends:
// failover must not depend on an idle machine (a fresh clone on a busy machine
// once hung here, in a health-check deadlock only load exposed).
func burnCPU(t *testing.T) {
	t.Helper()
	for range runtime.NumCPU() {
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		if err := cmd.Start(); err != nil {
			t.Fatalf("start CPU burner: %v", err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
}

// Three replicas on a machine whose cores are all kept busy by other
// processes, 16 clients mixing FFT and ClassifySignal for 30 s; one replica is
// SIGKILLed a third of the way in and restarted on its port. No call may fail,
// every answer must be right, and every call sent is answered.
func TestReplicasSurviveAKilledReplica(t *testing.T) {
	burnCPU(t)
	replicas := make([]*serverproc.Server, 3)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Add(1)
		go func() { defer wg.Done(); replicas[i] = startReplica(t, 0) }()
	}
	wg.Wait()
	addrs := make([]string, len(replicas))
	for i, r := range replicas {
		addrs[i] = r.Addr
	}
	t.Cleanup(func() {
		for _, r := range replicas {
			r.Stop(time.Minute)
		}
	})
	client, err := operator.DialReplicas(addrs, operator.WithClassifier("article"), operator.WithTopK(1),
		operator.WithTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	// Expected answers, computed before the load: FFT from gonum, labels from the model itself.
	local := operator.NewLocal()
	g, _ := signal.NewGenerator(signal.DefaultParams(), 21)
	type work struct {
		x     []float64
		mag   []float64
		label string
	}
	var items []work
	for i := range 24 {
		x, _ := g.Signal(signal.Classes[i%2])
		mag, _ := local.FFT(x)
		items = append(items, work{x: x, mag: mag})
	}
	for i := range items {
		r, err := client.ClassifySignals(ctxT(t), [][]float64{items[i].x})
		if err != nil {
			t.Fatal(err)
		}
		items[i].label = r.Classes[0][0].Label
	}

	var sent, answered, failed, wrong atomic.Int64
	var firstErr atomic.Value
	ctx, cancel := context.WithTimeout(context.Background(), loadDuration)
	defer cancel()
	var clients sync.WaitGroup
	for c := range loadClients {
		clients.Add(1)
		go func() {
			defer clients.Done()
			for i := c; ctx.Err() == nil; i++ {
				w := items[i%len(items)]
				callCtx, done := context.WithTimeout(context.Background(), time.Minute)
				sent.Add(1)
				var err error
				if i%2 == 0 {
					var mag [][]float64
					if mag, err = client.Magnitudes(callCtx, [][]float64{w.x}); err == nil && maxRelErr(mag, [][]float64{w.mag}) > 1e-9 {
						wrong.Add(1)
					}
				} else {
					var r *operator.Result
					if r, err = client.ClassifySignals(callCtx, [][]float64{w.x}); err == nil && r.Classes[0][0].Label != w.label {
						wrong.Add(1)
					}
				}
				done()
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				answered.Add(1)
			}
		}()
	}

	select {
	case <-time.After(killAfter):
	case <-ctx.Done():
	}
	victim := replicas[0]
	port, _ := strconv.Atoi(victim.Addr[strings.LastIndex(victim.Addr, ":")+1:])
	victim.Kill()
	t.Logf("killed replica %s with SIGKILL after %v; %d calls answered so far", victim.Addr, killAfter, answered.Load())
	replicas[0] = startReplica(t, port)
	t.Logf("replica restarted on %s", replicas[0].Addr)
	clients.Wait()

	t.Logf("%d calls sent, %d answered, %d failed, %d wrong, in %v by %d clients over 3 replicas, %d CPU burners beside",
		sent.Load(), answered.Load(), failed.Load(), wrong.Load(), loadDuration, loadClients, runtime.NumCPU())
	if failed.Load() != 0 {
		t.Errorf("%d calls failed; first: %v", failed.Load(), firstErr.Load())
	}
	if wrong.Load() != 0 {
		t.Errorf("%d answers were wrong", wrong.Load())
	}
	if sent.Load() != answered.Load() {
		t.Errorf("sent %d calls but %d were answered", sent.Load(), answered.Load())
	}
	if answered.Load() == 0 {
		t.Error("no call was answered")
	}
}
