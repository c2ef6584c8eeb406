//go:build e2e

// End-to-end tests: the Go client against the real Python server serving the
// frozen TensorFlow FFT graph from graphs/, checked against numpy's numbers in
// tests/vectors/fft.json and against the pure-Go Local operator.
//
// `make test-e2e` sets SIGOP_BIN (the sigop executable) and SIGOP_GRAPHS.
package e2e

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"

	operatorv1 "github.com/sigop-dev/sigop/go/gen/sigop/operator/v1"
	"github.com/sigop-dev/sigop/go/internal/vectors"
	"github.com/sigop-dev/sigop/go/operator"
	"github.com/sigop-dev/sigop/go/serverproc"
	"github.com/sigop-dev/sigop/go/signal"
)

// maxSignalLength is the server's limit in these tests: the largest vector
// (2^20) fits, one sample more does not.
const maxSignalLength = 1 << 20

var (
	addr   string
	server *serverproc.Server
)

func TestMain(m *testing.M) {
	bin, graphs := os.Getenv("SIGOP_BIN"), os.Getenv("SIGOP_GRAPHS")
	if bin == "" || graphs == "" {
		fmt.Println("e2e: SIGOP_BIN and SIGOP_GRAPHS are not set; run `make test-e2e`")
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	srv, err := serverproc.Start(ctx, serverproc.Config{
		Command: bin, Graphs: graphs,
		Args: []string{"--max-signal-length", fmt.Sprint(maxSignalLength), "--allow-shared-memory"},
	})
	cancel()
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	addr, server = srv.Addr, srv
	code := m.Run()
	if err := srv.Stop(time.Minute); err != nil {
		fmt.Println("e2e: server did not shut down cleanly:", err)
		code = 1
	}
	os.Exit(code)
}

func dial(t *testing.T) *operator.Client {
	t.Helper()
	c, err := operator.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// The server's FFT equals numpy's (shared vectors) and Local's, bin for bin,
// within the vectors' tolerance, for every case n = 1 .. 2^20 and a batch.
func TestFFTMatchesNumpyAndLocal(t *testing.T) {
	f, err := vectors.Load(vectors.FromPackage)
	if err != nil {
		t.Fatal(err)
	}
	client, local := dial(t), operator.NewLocal()
	ctx := ctxT(t)
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			inputs := c.Inputs()
			mag, err := client.Magnitudes(ctx, inputs)
			if err != nil {
				t.Fatal(err)
			}
			spectra, err := client.Spectra(ctx, inputs)
			if err != nil {
				t.Fatal(err)
			}
			var re, im [][]float64
			for _, s := range spectra {
				r, i := make([]float64, len(s)), make([]float64, len(s))
				for k, v := range s {
					r[k], i[k] = real(v), imag(v)
				}
				re, im = append(re, r), append(im, i)
			}
			worst, err := f.Check(c, mag, re, im)
			if err != nil {
				t.Fatal(err)
			}
			want, err := local.Magnitudes(ctx, inputs)
			if err != nil {
				t.Fatal(err)
			}
			if e := maxRelErr(mag, want); !(e <= f.Tolerance.Relative) {
				t.Fatalf("server vs Local magnitude: relative error %.3g > %g", e, f.Tolerance.Relative)
			}
			t.Logf("n=%d batch=%d: worst relative error vs numpy %.2g", c.N, c.Batch, worst)
		})
	}
}

// The article's interface, unchanged: FFT(input []float64) ([]float64, error).
func TestArticleOperatorInterface(t *testing.T) {
	var op operator.Operator = dial(t)
	g, err := signal.NewGenerator(signal.DefaultParams(), 3)
	if err != nil {
		t.Fatal(err)
	}
	x, err := g.Signal(signal.Blue)
	if err != nil {
		t.Fatal(err)
	}
	got, err := op.FFT(x)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := operator.NewLocal().FFT(x)
	if e := maxRelErr([][]float64{got}, [][]float64{want}); e > 1e-9 {
		t.Fatalf("FFT(article signal) differs from Local by %.3g", e)
	}
}

func maxRelErr(got, want [][]float64) float64 {
	worst := 0.0
	for r := range want {
		if len(got[r]) != len(want[r]) {
			return math.Inf(1)
		}
		scale := math.SmallestNonzeroFloat64
		for _, v := range want[r] {
			scale = math.Max(scale, math.Abs(v))
		}
		for k := range want[r] {
			worst = math.Max(worst, math.Abs(got[r][k]-want[r][k])/scale)
		}
	}
	return worst
}

func f64(values ...float64) []byte {
	out := make([]byte, 0, 8*len(values))
	for _, v := range values {
		u := math.Float64bits(v)
		out = append(out, byte(u), byte(u>>8), byte(u>>16), byte(u>>24), byte(u>>32), byte(u>>40), byte(u>>48), byte(u>>56))
	}
	return out
}

// Each bad request gets its status code, and the server keeps answering.
func TestBadInputKeepsServing(t *testing.T) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stub := operatorv1.NewOperatorClient(conn)
	tensor := func(shape []int64, content []byte) *operatorv1.FFTRequest {
		return &operatorv1.FFTRequest{Signals: &operatorv1.Float64Tensor{Shape: shape, Content: content}}
	}
	tests := []struct {
		name string
		req  *operatorv1.FFTRequest
		code codes.Code
	}{
		{"no signals", &operatorv1.FFTRequest{}, codes.InvalidArgument},
		{"empty signal", tensor([]int64{0}, nil), codes.InvalidArgument},
		{"empty batch", tensor([]int64{0, 8}, nil), codes.InvalidArgument},
		{"negative dimension", tensor([]int64{-1}, nil), codes.InvalidArgument},
		{"rank 3", tensor([]int64{1, 1, 2}, f64(1, 2)), codes.InvalidArgument},
		{"NaN", tensor([]int64{3}, f64(1, math.NaN(), 3)), codes.InvalidArgument},
		{"+Inf in batch", tensor([]int64{2, 2}, f64(1, 2, math.Inf(1), 4)), codes.InvalidArgument},
		{"-Inf", tensor([]int64{1}, f64(math.Inf(-1))), codes.InvalidArgument},
		{"ragged: fewer bytes than shape", tensor([]int64{2, 3}, f64(1, 2, 3, 4, 5)), codes.InvalidArgument},
		{"ragged: more bytes than shape", tensor([]int64{2, 2}, f64(1, 2, 3, 4, 5)), codes.InvalidArgument},
		{"not float64 bytes", tensor([]int64{2}, []byte{1, 2, 3}), codes.InvalidArgument},
		{"over-long signal", tensor([]int64{maxSignalLength + 1}, make([]byte, 8*(maxSignalLength+1))), codes.InvalidArgument},
		{"unknown spectrum", &operatorv1.FFTRequest{Signals: &operatorv1.Float64Tensor{Shape: []int64{1}, Content: f64(1)}, Spectra: []operatorv1.Spectrum{99}}, codes.InvalidArgument},
		{"unknown model", &operatorv1.FFTRequest{ModelSpec: &operatorv1.ModelSpec{Name: "nope"}, Signals: &operatorv1.Float64Tensor{Shape: []int64{1}, Content: f64(1)}}, codes.NotFound},
		{"unknown version", &operatorv1.FFTRequest{ModelSpec: &operatorv1.ModelSpec{Version: 42}, Signals: &operatorv1.Float64Tensor{Shape: []int64{1}, Content: f64(1)}}, codes.NotFound},
	}
	client := dial(t)
	rssBefore := rssMiB(t, server.Pid())
	for round := range 10 {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := stub.FFT(ctxT(t), tc.req)
				st, _ := status.FromError(err)
				if st.Code() != tc.code || st.Message() == "" {
					t.Fatalf("FFT(%s) = %v; want code %v with a message", tc.name, err, tc.code)
				}
				if round == 0 {
					t.Logf("%v: %s", st.Code(), st.Message())
				}
				got, err := client.FFT([]float64{1, 0, 0, 0})
				if err != nil || !slices.Equal(got, []float64{1, 1, 1}) {
					t.Fatalf("after %s: FFT(impulse) = %v, %v; want [1 1 1]", tc.name, got, err)
				}
			})
		}
	}
	// A deadline that passes while the server computes: DeadlineExceeded, and it keeps serving.
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := client.Magnitudes(ctx, [][]float64{make([]float64, 1<<20), make([]float64, 1<<20)}); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("FFT with a 1 ms deadline = %v; want DeadlineExceeded", err)
	}
	if got, err := client.FFT([]float64{1, 0}); err != nil || !slices.Equal(got, []float64{1, 1}) {
		t.Fatalf("after an expired deadline: FFT = %v, %v", got, err)
	}
	// Ten rounds of bad input, over-long signals among them, leave memory where it was.
	rssAfter := rssMiB(t, server.Pid())
	t.Logf("server RSS %d MiB before the sweep, %d MiB after", rssBefore, rssAfter)
	if rssAfter-rssBefore > 100 {
		t.Fatalf("server RSS grew by %d MiB over the bad-input sweep", rssAfter-rssBefore)
	}
}

// rssMiB reads a process's resident set size from /proc.
func rssMiB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc to read memory from: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return kb / 1024
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// The Go client's own error for the article's empty input carries the code.
func TestClientErrorsCarryStatus(t *testing.T) {
	_, err := dial(t).FFT(nil)
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("FFT(nil) error = %v; want InvalidArgument", err)
	}
}

func TestHealthAndReflection(t *testing.T) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, svc := range []string{"", serverproc.OperatorService} {
		resp, err := healthpb.NewHealthClient(conn).Check(ctxT(t), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health %q = %v, %v; want SERVING", svc, resp, err)
		}
	}
	// v1alpha, as older tools ask
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{serverproc.OperatorService, "grpc.health.v1.Health", "inference.GRPCInferenceService"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v; want %s among them", names, want)
		}
	}
	// v1, as current tools ask first: a method resolves to its file
	v1, err := reflectionv1.NewServerReflectionClient(conn).ServerReflectionInfo(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for symbol, file := range map[string]string{
		"sigop.operator.v1.Operator.ClassifySignal": "sigop/operator/v1/operator.proto",
		"inference.GRPCInferenceService.ModelInfer": "sigop/inference/open_inference_grpc.proto",
	} {
		if err := v1.Send(&reflectionv1.ServerReflectionRequest{
			MessageRequest: &reflectionv1.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: symbol}}); err != nil {
			t.Fatal(err)
		}
		r, err := v1.Recv()
		if err != nil {
			t.Fatal(err)
		}
		files := r.GetFileDescriptorResponse().GetFileDescriptorProto()
		if len(files) == 0 || !strings.Contains(string(files[0]), file) {
			t.Errorf("reflection v1 of %s: %v; want %s", symbol, r.GetErrorResponse(), file)
		}
	}
}

// Graceful shutdown: a second server, stopped with SIGTERM, exits cleanly.
func TestSIGTERMExitsCleanly(t *testing.T) {
	srv, err := serverproc.Start(ctxT(t), serverproc.Config{Command: os.Getenv("SIGOP_BIN"), Graphs: os.Getenv("SIGOP_GRAPHS")})
	if err != nil {
		t.Fatal(err)
	}
	c, err := operator.Dial(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.FFT([]float64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(time.Minute); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
}
