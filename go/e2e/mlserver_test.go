//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sigop-dev/sigop/go/inference"
)

// mlserver starts a real MLServer (Seldon's, from PyPI, in its own venv: SIGOP_MLSERVER is its python) serving
// a scikit-learn model made now, waits until its ServerReady says so, and returns its address and what
// scikit-learn itself predicts for the test inputs.
func mlserver(t *testing.T) (string, expected) {
	t.Helper()
	python := os.Getenv("SIGOP_MLSERVER")
	if python == "" {
		t.Skip("SIGOP_MLSERVER (MLServer's venv python) is not set; make test-e2e sets it")
	}
	dir := t.TempDir()
	ports := freePorts(t, 3)
	run(t, python, filepath.Join("..", "..", "python", "tests", "oip", "mlserver_model.py"), "--out", dir,
		"--grpc-port", ports[0], "--http-port", ports[1], "--metrics-port", ports[2])
	var want expected
	raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err == nil {
		err = json.Unmarshal(raw, &want)
	}
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(filepath.Dir(python), "mlserver"), "start", dir)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	address := "127.0.0.1:" + ports[0]
	c := dialInference(t, address)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for {
		probe, stop := context.WithTimeout(ctx, 2*time.Second)
		ready, _ := c.ServerReady(probe)
		stop()
		if ready {
			return address, want
		}
		select {
		case err := <-exited:
			t.Fatalf("mlserver exited before it was ready: %v\n%s", err, log.String())
		case <-ctx.Done():
			t.Fatalf("mlserver not ready within 3 minutes:\n%s", log.String())
		case <-time.After(200 * time.Millisecond): // the next readiness probe
		}
	}
}

type expected struct {
	Inputs       [][]float64 `json:"inputs"`
	Predict      []int64     `json:"predict"`
	PredictProba [][]float64 `json:"predict_proba"`
}

func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var held []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
		_, port, _ := net.SplitHostPort(l.Addr().String())
		out = append(out, port)
	}
	for _, l := range held {
		l.Close()
	}
	return out
}

// sigop's Go client against a server sigop did not write: MLServer's scikit-learn runtime answers what
// scikit-learn predicts, through raw and typed contents, one address or balanced replicas.
func TestGoClientCallsMLServer(t *testing.T) {
	address, want := mlserver(t)
	ctx := ctxT(t)
	c := dialInference(t, address)
	meta, err := c.ServerMetadata(ctx)
	if err != nil || meta.Name != "mlserver" {
		t.Fatalf("ServerMetadata = %+v, %v; want MLServer's", meta, err)
	}
	if ready, err := c.ModelReady(ctx, "iris-like", ""); !ready || err != nil {
		t.Fatalf("ModelReady(iris-like) = %v, %v", ready, err)
	}
	if _, err := c.ModelMetadata(ctx, "iris-like", ""); err != nil {
		t.Fatalf("ModelMetadata: %v", err)
	}
	replicas, err := inference.DialReplicas([]string{address, address})
	if err != nil {
		t.Fatal(err)
	}
	defer replicas.Close()
	for name, client := range map[string]*inference.Client{"one address": c, "replicas": replicas} {
		for _, typed := range []bool{false, true} {
			opts := []inference.CallOption{inference.Outputs("predict", "predict_proba"), inference.RequestID("mls-1")}
			if typed {
				opts = append(opts, inference.TypedContents())
			}
			r, err := client.Infer(ctx, "iris-like", []*inference.Tensor{inference.FP64Rows("input-0", want.Inputs)}, opts...)
			if err != nil {
				t.Fatalf("%s, typed=%v: %v", name, typed, err)
			}
			p, err := r.Output("predict")
			if err != nil {
				t.Fatal(err)
			}
			labels, err := p.Int64s()
			if err != nil || len(labels) != len(want.Predict) {
				t.Fatalf("%s, typed=%v: predict %v, %v (%s)", name, typed, labels, err, p.Datatype)
			}
			for i := range labels {
				if labels[i] != want.Predict[i] {
					t.Fatalf("%s, typed=%v: predict %v; scikit-learn says %v", name, typed, labels, want.Predict)
				}
			}
			pp, _ := r.Output("predict_proba")
			proba, err := pp.Float64s()
			if err != nil {
				t.Fatal(err)
			}
			for i, row := range want.PredictProba {
				for j, v := range row {
					if math.Abs(proba[i*len(row)+j]-v) > 1e-12 {
						t.Fatalf("%s, typed=%v: predict_proba[%d][%d] = %g; scikit-learn says %g", name, typed, i, j, proba[i*len(row)+j], v)
					}
				}
			}
			if r.ID != "mls-1" {
				t.Errorf("id %q; want mls-1 echoed", r.ID)
			}
		}
	}
	if _, err := c.Infer(ctx, "no-such-model", []*inference.Tensor{inference.FP64Rows("input-0", want.Inputs)}); err == nil {
		t.Error("an unknown model: no error from MLServer")
	}
	if ready, err := c.ServerReady(ctx); !ready || err != nil {
		t.Fatalf("after a refused call: ServerReady = %v, %v", ready, err)
	}
}
