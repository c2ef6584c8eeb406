//go:build e2e

package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	operatorv1 "github.com/sigop-dev/sigop/go/gen/sigop/operator/v1"
	"github.com/sigop-dev/sigop/go/operator"
	"github.com/sigop-dev/sigop/go/signal"
)

// The e2e server runs with --allow-shared-memory (TestMain).

func dialShared(t *testing.T, target string, opts ...operator.Option) *operator.Client {
	t.Helper()
	c, err := operator.Dial(target, append([]operator.Option{operator.WithSharedMemory()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func rawStub(t *testing.T) operatorv1.OperatorClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return operatorv1.NewOperatorClient(conn)
}

func regionNames(t *testing.T, stub operatorv1.OperatorClient) []string {
	t.Helper()
	resp, err := stub.SharedMemoryStatus(ctxT(t), &operatorv1.SharedMemoryStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range resp.GetRegions() {
		names = append(names, r.GetName())
	}
	return names
}

func TestSharedMemoryGivesTheWiresResults(t *testing.T) {
	ctx := ctxT(t)
	shared, wire := dialShared(t, addr, operator.WithClassifier("article")), dialClassifier(t)
	if err := shared.SharedMemory(ctx); err != nil {
		t.Fatalf("a server on this host with --allow-shared-memory: %v", err)
	}
	for _, n := range []int{1024, 65536, 1 << 20} {
		x := signal.Noise(n, uint64(n))
		got, err := shared.FFT(x)
		if err != nil {
			t.Fatal(err)
		}
		want, err := wire.FFT(x)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("n=%d: magnitudes through shared memory differ from the wire's", n)
		}
	}
	batch := [][]float64{signal.Noise(4096, 1), signal.Noise(4096, 2), signal.Noise(4096, 3)}
	gotC, err := shared.Spectra(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	wantC, err := wire.Spectra(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	for i := range wantC {
		if !slices.Equal(gotC[i], wantC[i]) {
			t.Fatalf("signal %d: complex spectra through shared memory differ from the wire's", i)
		}
	}
	signals := articleSignals(8, 5) // 16 signals of 1024 samples: over SharedMemoryMinBytes
	gotR, err := shared.ClassifySignals(ctx, signals)
	if err != nil {
		t.Fatal(err)
	}
	wantR, err := wire.ClassifySignals(ctx, signals)
	if err != nil {
		t.Fatal(err)
	}
	for i := range wantR.Classes {
		if !slices.Equal(gotR.Classes[i], wantR.Classes[i]) {
			t.Fatalf("signal %d: %v through shared memory, %v over the wire", i, gotR.Classes[i], wantR.Classes[i])
		}
	}
	if !slices.Equal(gotR.Unknown, wantR.Unknown) {
		t.Fatalf("unknown scores: %v through shared memory, %v over the wire", gotR.Unknown, wantR.Unknown)
	}
	// Bad input gets the wire's answer: a NaN is InvalidArgument.
	bad := signal.Noise(16384, 9)
	bad[7] = bad[7] / 0 * 0
	if _, err := shared.FFT(bad); status.Code(errors.Unwrap(err)) != codes.InvalidArgument && status.Code(err) != codes.InvalidArgument {
		t.Fatalf("NaN through shared memory: %v; want InvalidArgument", err)
	}
	if err := shared.SharedMemory(ctx); err != nil {
		t.Fatalf("after a refused call, shared memory is still in use: %v", err)
	}
}

func TestSharedMemoryFallsBackToTheWire(t *testing.T) {
	srv := startReplica(t, 0) // no --allow-shared-memory
	defer srv.Stop(time.Minute)
	c := dialShared(t, srv.Addr)
	x := signal.Noise(8192, 4)
	got, err := c.FFT(x)
	if err != nil {
		t.Fatal(err)
	}
	want, err := dial(t).FFT(x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatal("over the wire after the server refused shared memory, the magnitudes differ")
	}
	if err := c.SharedMemory(ctxT(t)); status.Code(errors.Unwrap(err)) != codes.FailedPrecondition {
		t.Fatalf("SharedMemory() against a server without --allow-shared-memory: %v; want FailedPrecondition", err)
	}
	cmd := sigopClient("fft", "--addr", srv.Addr, "--shared-memory")
	cmd.Stdin = strings.NewReader("1\n2\n3\n4\n")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if out, err := cmd.Output(); err != nil || len(strings.Fields(string(out))) != 3 || !strings.Contains(stderr.String(), "--allow-shared-memory") {
		t.Fatalf("sigop-client fft --shared-memory against that server: %v, %q, stderr %q; want the spectrum and a word on why it went over the wire", err, out, stderr.String())
	}
}

// A client that closes unregisters its regions; one that is killed has them
// released by the server, and leaves no file in /dev/shm.
func TestSharedMemoryIsReleasedWhenClientsGo(t *testing.T) {
	stub := rawStub(t)
	before := regionNames(t, stub)
	c, err := operator.Dial(addr, operator.WithSharedMemory())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.FFT(signal.Noise(1024, 1)); err != nil {
		t.Fatal(err)
	}
	if got := regionNames(t, stub); !slices.Equal(got, before) {
		t.Fatalf("regions after a 1024-point FFT, under SharedMemoryMinBytes: %v; want %v (it goes over the wire)", got, before)
	}
	if _, err := c.FFT(signal.Noise(16384, 1)); err != nil {
		t.Fatal(err)
	}
	if got := regionNames(t, stub); len(got) != len(before)+1 {
		t.Fatalf("regions after one shared-memory call: %v (before: %v)", got, before)
	}
	c.Close()
	if got := regionNames(t, stub); !slices.Equal(got, before) {
		t.Fatalf("regions after Close: %v; want %v", got, before)
	}

	helper := exec.Command(os.Args[0], "-test.run=^TestSharedMemoryHelperProcess$")
	helper.Env = append(os.Environ(), "SIGOP_SHM_HELPER_ADDR="+addr)
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "registered\n" {
		helper.Process.Kill()
		t.Fatalf("helper: %q, %v", line, err)
	}
	held := regionNames(t, stub)
	if len(held) != len(before)+1 {
		t.Fatalf("regions while the helper runs: %v (before: %v)", held, before)
	}
	for _, name := range held {
		if _, err := os.Stat(filepath.Join(operator.DefaultSharedMemoryDir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still in %s once registered (stat: %v): a killed client would leave it there", name, operator.DefaultSharedMemoryDir, err)
		}
	}
	helper.Process.Signal(syscall.SIGKILL)
	helper.Wait()
	if got := regionNames(t, stub); !slices.Equal(got, before) {
		t.Fatalf("regions after the helper was killed: %v; want %v", got, before)
	}
	if _, err := dial(t).FFT(signal.Noise(1024, 2)); err != nil {
		t.Fatalf("the server after a client died holding a region: %v", err)
	}
}

// TestSharedMemoryHelperProcess is the client TestSharedMemoryIsReleasedWhenClientsGo kills.
func TestSharedMemoryHelperProcess(t *testing.T) {
	target := os.Getenv("SIGOP_SHM_HELPER_ADDR")
	if target == "" {
		t.Skip("run by TestSharedMemoryIsReleasedWhenClientsGo")
	}
	c, err := operator.Dial(target, operator.WithSharedMemory())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.FFT(signal.Noise(16384, 1)); err != nil {
		t.Fatal(err)
	}
	fmt.Println("registered")
	select {} // until killed
}

// shmFile is a file in /dev/shm of size bytes, locked as a client holds it.
func shmFile(t *testing.T, size int) string {
	t.Helper()
	f, err := os.CreateTemp(operator.DefaultSharedMemoryDir, "sigop-e2e-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close(); os.Remove(f.Name()) })
	if err := f.Truncate(int64(size)); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	return filepath.Base(f.Name())
}

func TestHostileSharedMemoryRequests(t *testing.T) {
	ctx, stub := ctxT(t), rawStub(t)
	key := shmFile(t, 8192)
	register := func(name, key string, offset, size uint64) error {
		_, err := stub.RegisterSharedMemory(ctx, &operatorv1.RegisterSharedMemoryRequest{Region: &operatorv1.SharedMemoryRegion{
			Name: name, Key: key, Offset: offset, ByteSize: size}})
		return err
	}
	for _, c := range []struct {
		what, name, key string
		offset, size    uint64
		code            codes.Code
	}{
		{"a path out of the directory", "r", "../../etc/passwd", 0, 8, codes.InvalidArgument},
		{"an absolute path", "r", "/etc/passwd", 0, 8, codes.InvalidArgument},
		{"a hidden file", "r", ".x", 0, 8, codes.InvalidArgument},
		{"a file that is not there", "r", "sigop-no-such-file", 0, 8, codes.InvalidArgument},
		{"a range past the file's end", "r", key, 4096, 8192, codes.InvalidArgument},
		{"an empty range", "r", key, 0, 0, codes.InvalidArgument},
		{"a name with a slash", "a/b", key, 0, 8, codes.InvalidArgument},
	} {
		if err := register(c.name, c.key, c.offset, c.size); status.Code(err) != c.code {
			t.Errorf("%s: %v; want %v", c.what, err, c.code)
		}
	}
	if err := register("e2e-hostile", key, 0, 8192); err != nil {
		t.Fatal(err)
	}
	defer stub.UnregisterSharedMemory(ctx, &operatorv1.UnregisterSharedMemoryRequest{Name: "e2e-hostile"})
	if err := register("e2e-hostile", key, 0, 8192); status.Code(err) != codes.AlreadyExists {
		t.Errorf("a name registered twice: %v; want AlreadyExists", err)
	}
	fft := func(ref *operatorv1.SharedMemoryRef, shape []int64, output *operatorv1.SharedMemoryRef) error {
		_, err := stub.FFT(ctx, &operatorv1.FFTRequest{Signals: &operatorv1.Float64Tensor{Shape: shape, SharedMemory: ref}, Output: output})
		return err
	}
	for _, c := range []struct {
		what   string
		ref    *operatorv1.SharedMemoryRef
		shape  []int64
		output *operatorv1.SharedMemoryRef
		code   codes.Code
	}{
		{"an unregistered region", &operatorv1.SharedMemoryRef{Region: "nope", ByteSize: 64}, []int64{8}, nil, codes.NotFound},
		{"an offset past the region's end", &operatorv1.SharedMemoryRef{Region: "e2e-hostile", Offset: 1 << 40, ByteSize: 64}, []int64{8}, nil, codes.InvalidArgument},
		{"a range running past the end", &operatorv1.SharedMemoryRef{Region: "e2e-hostile", Offset: 8000, ByteSize: 800}, []int64{100}, nil, codes.InvalidArgument},
		{"an unaligned offset", &operatorv1.SharedMemoryRef{Region: "e2e-hostile", Offset: 3, ByteSize: 64}, []int64{8}, nil, codes.InvalidArgument},
		{"a size that is not the shape's", &operatorv1.SharedMemoryRef{Region: "e2e-hostile", ByteSize: 64}, []int64{16}, nil, codes.InvalidArgument},
		{"an output too small", &operatorv1.SharedMemoryRef{Region: "e2e-hostile", ByteSize: 1024}, []int64{128}, &operatorv1.SharedMemoryRef{Region: "e2e-hostile", Offset: 1024, ByteSize: 8}, codes.InvalidArgument},
		{"an output past the end", &operatorv1.SharedMemoryRef{Region: "e2e-hostile", ByteSize: 1024}, []int64{128}, &operatorv1.SharedMemoryRef{Region: "e2e-hostile", Offset: 1 << 62, ByteSize: 1 << 20}, codes.InvalidArgument},
		{"an output range of 2^64-1 bytes", &operatorv1.SharedMemoryRef{Region: "e2e-hostile", ByteSize: 1024}, []int64{128}, &operatorv1.SharedMemoryRef{Region: "e2e-hostile", Offset: 1024, ByteSize: math.MaxUint64}, codes.InvalidArgument},
	} {
		if err := fft(c.ref, c.shape, c.output); status.Code(err) != c.code {
			t.Errorf("%s: %v; want %v", c.what, err, c.code)
		}
	}
	// The region still works, and so does the server.
	if err := fft(&operatorv1.SharedMemoryRef{Region: "e2e-hostile", ByteSize: 1024}, []int64{128},
		&operatorv1.SharedMemoryRef{Region: "e2e-hostile", Offset: 1024, ByteSize: 8 * 65}); err != nil {
		t.Fatalf("a good call on the same region: %v", err)
	}
	if _, err := dial(t).FFT(signal.Noise(1024, 3)); err != nil {
		t.Fatalf("the server after hostile shared-memory requests: %v", err)
	}
}

func TestSigopClientFFTThroughSharedMemory(t *testing.T) {
	var text strings.Builder
	for _, v := range signal.Noise(8192, 8) { // 64 KiB in, 32 KiB out: through shared memory
		fmt.Fprintln(&text, v)
	}
	run := func(args ...string) string {
		cmd := sigopClient(append([]string{"fft", "--addr", addr}, args...)...)
		cmd.Stdin = strings.NewReader(text.String())
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Fatalf("sigop-client fft %v: %v\n%s", args, err, stderr.String())
		}
		return string(out)
	}
	shared, wire := run("--shared-memory"), run()
	if shared != wire || len(strings.Fields(shared)) != 4097 {
		t.Fatalf("sigop-client fft --shared-memory printed %d values, differing from the wire's %d", len(strings.Fields(shared)), len(strings.Fields(wire)))
	}
}
