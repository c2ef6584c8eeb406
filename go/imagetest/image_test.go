//go:build image

// Package imagetest runs sigop's OCI image (make image) the way a container
// runtime would, without one (none runs in this sandbox): the process that
// `umoci unpack` wrote into the bundle's config.json (the image's entrypoint,
// command, environment and user) is started in a mount namespace of its own,
// chrooted into the image's root filesystem made read-only, with /tmp a
// tmpfs and the models folder mounted read-only at /models, as the
// Kubernetes Deployment in deploy/ does. Run by `make test-image` (as root).
package imagetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigop-dev/sigop/go/inference"
	"github.com/sigop-dev/sigop/go/internal/testsignals"
	"github.com/sigop-dev/sigop/go/operator"
)

// spec is the part of an OCI runtime spec (bundle/config.json) that says what to run.
type spec struct {
	Process struct {
		Args []string `json:"args"`
		Env  []string `json:"env"`
		Cwd  string   `json:"cwd"`
		User struct {
			UID int `json:"uid"`
			GID int `json:"gid"`
		} `json:"user"`
	} `json:"process"`
}

// mounts: a read-only root, /dev and /proc from the host, a private /tmp, the
// models read-only; then the image's own process, as the image's user.
const mounts = `set -eu
root=$1 models=$2 user=$3; shift 3
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=1777,size=1g tmpfs "$root/tmp"
mount --bind "$models" "$root/models"
mount -o remount,bind,ro "$root/models"
exec chroot --userspec="$user" "$root" /usr/bin/env -i "$@"
`

var (
	bundle, models string
	image          spec
	addr, metrics  string
	proc           *exec.Cmd
	procLog        = &logBuffer{}
	exited         = make(chan struct{}) // closed when the process has exited, with exitErr set
	exitErr        error
	healthProbe    string
)

// logBuffer holds the process's output; the tests read it while it grows.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMain(m *testing.M) {
	bundle, models = os.Getenv("SIGOP_IMAGE_BUNDLE"), os.Getenv("SIGOP_IMAGE_MODELS")
	if bundle == "" || models == "" {
		fmt.Println("imagetest: SIGOP_IMAGE_BUNDLE and SIGOP_IMAGE_MODELS are not set; run `make test-image`")
		os.Exit(1)
	}
	err := load()
	if err == nil {
		err = start()
	}
	if err != nil {
		fmt.Println("imagetest:", err)
		fmt.Println(procLog.String())
		os.Exit(1)
	}
	code := m.Run()
	select {
	case <-exited: // the last test stopped it
	default:
		_ = proc.Process.Kill()
		<-exited
	}
	os.Exit(code)
}

// load reads what the image runs from the bundle's runtime spec.
func load() error {
	raw, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &image); err != nil {
		return err
	}
	if image.Process.Cwd != "/" || len(image.Process.Args) == 0 {
		return fmt.Errorf("config.json: cwd %q, args %q; want / and a command", image.Process.Cwd, image.Process.Args)
	}
	return nil
}

// command runs args (the image's process, or another command line) in the
// image's root filesystem with the image's environment and user.
func command(args ...string) *exec.Cmd {
	u := image.Process.User
	full := []string{"--mount", "--propagation", "private", "sh", "-c", mounts, "sh",
		filepath.Join(bundle, "rootfs"), models, fmt.Sprintf("%d:%d", u.UID, u.GID)}
	full = append(append(full, image.Process.Env...), args...)
	return exec.Command("unshare", full...)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func start() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	mport, err := freePort()
	if err != nil {
		return err
	}
	addr, metrics = fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("127.0.0.1:%d", mport)
	// The image's entrypoint and command, then two flags: the last given wins, so these move the image's own
	// ports off ones another process on this machine may hold.
	proc = command(append(image.Process.Args, fmt.Sprintf("--address=0.0.0.0:%d", port), "--metrics-address="+metrics)...)
	proc.Stdout, proc.Stderr = procLog, procLog
	if err := proc.Start(); err != nil {
		return err
	}
	go func() { exitErr = proc.Wait(); close(exited) }()
	healthProbe = filepath.Join(bundle, "rootfs", "usr", "local", "bin", "grpc-health-probe")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	began := time.Now()
	if err := waitServing(ctx, ""); err != nil {
		return err
	}
	fmt.Printf("imagetest: SERVING %.1f s after start; %s\n", time.Since(began).Seconds(), memory())
	return nil
}

// memory is the process's resident memory now and at its peak, from /proc.
func memory() string {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", proc.Process.Pid))
	if err != nil {
		return err.Error()
	}
	var fields []string
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmRSS:") || strings.HasPrefix(line, "VmHWM:") {
			fields = append(fields, strings.Join(strings.Fields(line), " "))
		}
	}
	return strings.Join(fields, ", ")
}

// probe runs the image's own grpc-health-probe, as a Kubernetes exec probe
// would; its exit code is 0 for SERVING, 4 for NOT_SERVING.
func probe(service string) (int, string) {
	out, err := exec.Command(healthProbe, "-addr="+addr, "-service="+service, "-connect-timeout=2s", "-rpc-timeout=2s").CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), string(out)
	}
	if err != nil {
		return -1, err.Error()
	}
	return 0, string(out)
}

// waitServing asks grpc-health-probe until the server says SERVING (after
// every model is loaded and warmed up), the process exits, or ctx ends.
func waitServing(ctx context.Context, service string) error {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		code, out := probe(service)
		if code == 0 {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("the image's process exited before SERVING: %v", exitErr)
		case <-ctx.Done():
			return fmt.Errorf("not SERVING in time; grpc-health-probe said (exit %d) %s", code, out)
		case <-tick.C:
		}
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// Every service the Deployment's probes ask about is SERVING, to the image's own probe binary.
func TestHealthProbeSaysServing(t *testing.T) {
	for _, s := range []string{"", "sigop.operator.v1.Operator", "inference.GRPCInferenceService"} {
		if code, out := probe(s); code != 0 || !strings.Contains(out, "SERVING") {
			t.Errorf("grpc-health-probe -service=%q: exit %d, %q", s, code, out)
		}
	}
	if code, _ := probe("no.such.Service"); code == 0 {
		t.Error("grpc-health-probe said SERVING for a service the server does not have")
	}
}

// The process runs as the image's non-root user, and serves the FFT graph
// the image carries rather than exporting one at start-up (which would have
// left a sigop-fft-* folder in its /tmp).
func TestRunsAsItsUserWithTheCommittedFFTGraph(t *testing.T) {
	if image.Process.User.UID == 0 || image.Process.User.GID == 0 {
		t.Fatalf("the image runs as %d:%d; want a non-root user", image.Process.User.UID, image.Process.User.GID)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", proc.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("Uid:\t%d\t%d", image.Process.User.UID, image.Process.User.UID)
	if !strings.Contains(string(status), want) {
		t.Fatalf("the served process's status has no %q:\n%s", want, status)
	}
	tmp, err := os.ReadDir(fmt.Sprintf("/proc/%d/root/tmp", proc.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tmp {
		if strings.HasPrefix(e.Name(), "sigop-fft-") {
			t.Fatalf("the server exported its own FFT graph into /tmp/%s instead of serving the image's", e.Name())
		}
	}
}

// The FFT through the image equals gonum's.
func TestFFTThroughTheImage(t *testing.T) {
	c, err := operator.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, 1024)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	got, err := c.FFT(x)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := operator.NewLocal().FFT(x)
	if len(got) != len(want) {
		t.Fatalf("FFT gave %d values; want %d", len(got), len(want))
	}
	worst := 0.0
	for i := range got {
		worst = math.Max(worst, math.Abs(got[i]-want[i]))
	}
	if worst > 1e-9 {
		t.Fatalf("max |image - gonum| = %g", worst)
	}
}

// Signals generated in Go are classified by the mounted article model (a
// MobileNetV2 spectrum-image classifier on LiteRT); three-axis ones by the
// imu model (MiniRocket, whose compiled runtime needs numba in the image);
// WAVs by the digits model (soundfile and soxr in the image).
func TestClassifiesSignalsThreeAxesAndSound(t *testing.T) {
	ctx := ctxT(t)
	article := dialClassifier(t, "article")
	rows, want := testsignals.Article(20, 9)
	r, err := article.ClassifySignals(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	if right := countRight(r, want); right < 36 {
		t.Errorf("article: %d of 40 fresh signals right; want at least 36", right)
	}

	imu := dialClassifier(t, "imu")
	rng := rand.New(rand.NewPCG(7, 8))
	var axes [][][]float64
	want = want[:0]
	for i := range 30 {
		axes = append(axes, testsignals.ThreeAxes(rng, i%3, 256))
		want = append(want, "tone_"+testsignals.Axes[i%3])
	}
	if r, err = imu.ClassifyMultichannel(ctx, axes); err != nil {
		t.Fatal(err)
	}
	if right := countRight(r, want); right < 27 {
		t.Errorf("imu: %d of 30 three-axis signals right; want at least 27", right)
	}

	digits := dialClassifier(t, "digits")
	paths, _ := filepath.Glob(filepath.Join(os.Getenv("SIGOP_E2E_UNHEARD"), "*", "*.wav"))
	if len(paths) < 10 {
		t.Fatalf("fewer than 10 WAV files under $SIGOP_E2E_UNHEARD")
	}
	var wavs [][]byte
	want = want[:0]
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		wavs, want = append(wavs, b), append(want, filepath.Base(filepath.Dir(p)))
	}
	if r, err = digits.ClassifyAudio(ctx, wavs); err != nil {
		t.Fatal(err)
	}
	if right := countRight(r, want); float64(right) < 0.7*float64(len(want)) {
		t.Errorf("digits: %d of %d WAVs of unheard voices right; want at least 70%%", right, len(want))
	}
}

func dialClassifier(t *testing.T, name string) *operator.Client {
	t.Helper()
	c, err := operator.Dial(addr, operator.WithClassifier(name), operator.WithTopK(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func countRight(r *operator.Result, want []string) int {
	right := 0
	for i, classes := range r.Classes {
		if len(classes) > 0 && classes[0].Label == want[i] {
			right++
		}
	}
	return right
}

// The Open Inference Protocol through the image: the FFT model's magnitudes equal the Operator service's.
func TestOpenInferenceProtocolThroughTheImage(t *testing.T) {
	ctx := ctxT(t)
	c, err := inference.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, err := c.ModelReady(ctx, "article", ""); err != nil || !ok {
		t.Fatalf("ModelReady(article) = %v, %v", ok, err)
	}
	x := []float64{0, 1, 0, -1, 0, 1, 0, -1}
	r, err := c.Infer(ctx, "fft", []*inference.Tensor{inference.FP64Rows("signals", [][]float64{x})})
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.Output("magnitude")
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Float64s()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := operator.NewLocal().Magnitudes(ctx, [][]float64{x})
	for i := range want[0] {
		if math.Abs(got[i]-want[0][i]) > 1e-12 {
			t.Fatalf("fft magnitude %d: %g; want %g", i, got[i], want[0][i])
		}
	}
}

// Eight clients at once, 32 signals a call (the Deployment's batch size): every call answered, and the
// memory it took is logged (docs/DEPLOY.md sizes the Deployment's requests and limits from it).
func TestConcurrentClientsAreAllAnswered(t *testing.T) {
	ctx := ctxT(t)
	rows, _ := testsignals.Article(16, 11)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			c, err := operator.Dial(addr, operator.WithClassifier("article"), operator.WithTopK(1))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for range 5 {
				r, err := c.ClassifySignals(ctx, rows)
				if err == nil && len(r.Classes) != len(rows) {
					err = fmt.Errorf("%d answers for %d signals", len(r.Classes), len(rows))
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	t.Logf("memory after 8 clients x 5 calls of 32 signals: %s", memory())
}

// Prometheus metrics are served, counting the calls made above.
func TestMetricsAreExported(t *testing.T) {
	resp, err := http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, name := range []string{"sigop_requests_total{", "sigop_models_loaded", "sigop_request_seconds_bucket{"} {
		if !bytes.Contains(body, []byte(name)) {
			t.Errorf("/metrics has no %s", name)
		}
	}
}

// The image holds what serving needs only: a training command says what is
// missing and how to get it, instead of a traceback.
func TestTrainingIsLeftOutWithAClearMessage(t *testing.T) {
	// The entrypoint with other args, as a container's args replace the image's command.
	out, err := command(image.Process.Args[0], "train", "--data", "/models", "--out", "/tmp/x").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "sigop[train]") ||
		strings.Contains(string(out), "Traceback") {
		t.Fatalf("sigop train in the image: %v\n%s", err, out)
	}
}

// Last (go test runs tests in file order): SIGTERM turns health NOT_SERVING and the process exits 0 within its grace.
func TestSIGTERMShutsDownGracefully(t *testing.T) {
	t.Logf("memory after the calls above: %s", memory())
	if err := proc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if exitErr != nil {
			t.Fatalf("after SIGTERM the process exited with %v; its log:\n%s", exitErr, procLog.String())
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("the process did not exit within 90 s of SIGTERM; its log:\n%s", procLog.String())
	}
	log := procLog.String()
	if !strings.Contains(log, "SIGTERM: finishing in-flight calls") || !strings.Contains(log, "stopped") {
		t.Fatalf("no graceful shutdown in the log:\n%s", log)
	}
}
