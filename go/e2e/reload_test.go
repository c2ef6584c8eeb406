//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	operatorv1 "github.com/sigop-dev/sigop/go/gen/sigop/operator/v1"
	"github.com/sigop-dev/sigop/go/serverproc"
)

// copyVersion copies the committed FFT export into graphs/fft/<v>, manifest
// last, as an exporter would; corrupt damages graph.pb after its hash was taken.
func copyVersion(t *testing.T, graphs string, v string, corrupt bool) {
	t.Helper()
	src := filepath.Join(os.Getenv("SIGOP_GRAPHS"), "fft")
	dst := filepath.Join(graphs, "fft", v)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"graph.pb", "manifest.json"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if corrupt && name == "graph.pb" {
			b = b[:len(b)/2]
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFor polls cond every 10 ms until it holds or ctx ends.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// New versions dropped in (one corrupt) while clients run: no call fails,
// the corrupt one is refused, the good one serves once it is ready.
func TestHotReloadUnderLoad(t *testing.T) {
	graphs := t.TempDir()
	copyVersion(t, graphs, "1", false)
	srv, err := serverproc.Start(ctxT(t), serverproc.Config{
		Command: os.Getenv("SIGOP_BIN"), Graphs: graphs, Args: []string{"--poll-seconds", "0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop(time.Minute)
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stub := operatorv1.NewOperatorClient(conn)

	var calls, failed atomic.Int64
	var seen sync.Map // version -> true
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := &operatorv1.FFTRequest{Signals: &operatorv1.Float64Tensor{Shape: []int64{4}, Content: f64(1, 0, 0, 0)}}
			for ctx.Err() == nil {
				resp, err := stub.FFT(context.Background(), req)
				calls.Add(1)
				if err != nil {
					failed.Add(1)
					continue
				}
				seen.Store(resp.GetModelSpec().GetVersion(), true)
			}
		}()
	}
	versionState := func(v int64) operatorv1.ModelState {
		resp, err := stub.ListModels(ctxT(t), &operatorv1.ListModelsRequest{Name: "fft"})
		if err != nil {
			t.Fatal(err)
		}
		for _, mv := range resp.GetModels()[0].GetVersions() {
			if mv.GetVersion() == v {
				return mv.GetState()
			}
		}
		return operatorv1.ModelState_MODEL_STATE_UNSPECIFIED
	}

	waitFor(ctxT(t), t, "clients to be under way", func() bool { return calls.Load() >= 200 })
	copyVersion(t, graphs, "3", true)
	srv.Signal(syscall.SIGHUP)
	waitFor(ctxT(t), t, "version 3 to be refused", func() bool {
		return versionState(3) == operatorv1.ModelState_MODEL_STATE_FAILED
	})
	copyVersion(t, graphs, "2", false)
	srv.Signal(syscall.SIGHUP)
	waitFor(ctxT(t), t, "clients to be answered by version 2", func() bool { _, ok := seen.Load(int64(2)); return ok })
	stop()
	wg.Wait()

	if _, ok := seen.Load(int64(3)); ok {
		t.Error("the corrupt version 3 answered calls")
	}
	if _, ok := seen.Load(int64(1)); !ok {
		t.Error("version 1 never answered")
	}
	t.Logf("%d calls during two reloads, %d failed", calls.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Fatalf("%d calls failed during reload", failed.Load())
	}
}
