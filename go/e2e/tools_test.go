//go:build e2e

package e2e

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// tool is a gRPC command-line tool built from the Go module proxy by `make test-e2e` (SIGOP_GRPCURL, SIGOP_GHZ).
func tool(t *testing.T, env string) string {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		t.Skipf("%s is not set; make test-e2e builds the tool and sets it", env)
	}
	return path
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// grpcurl (fullstorydev, built from the proxy) resolves methods, fields and
// health by reflection alone; before, `describe` of a method was "Symbol not found".
func TestGrpcurlDescribesEveryMethodByReflection(t *testing.T) {
	grpcurl := tool(t, "SIGOP_GRPCURL")
	listed := run(t, grpcurl, "-plaintext", addr, "list")
	for _, s := range []string{"sigop.operator.v1.Operator", "inference.GRPCInferenceService", "grpc.health.v1.Health",
		"grpc.reflection.v1.ServerReflection"} {
		if !strings.Contains(listed, s) {
			t.Errorf("list lacks %s:\n%s", s, listed)
		}
	}
	for symbol, want := range map[string]string{
		"sigop.operator.v1.Operator.FFT":               "rpc FFT ( .sigop.operator.v1.FFTRequest )",
		"sigop.operator.v1.Operator.ClassifyStream":    "rpc ClassifyStream ( stream .sigop.operator.v1.ClassifyStreamRequest )",
		"grpc.health.v1.Health.Check":                  "rpc Check ( .grpc.health.v1.HealthCheckRequest )",
		"inference.GRPCInferenceService.ModelInfer":    "rpc ModelInfer ( .inference.ModelInferRequest )",
		"inference.ModelInferRequest.InferInputTensor": "message InferInputTensor {",
		"sigop.operator.v1.Float64Tensor.content":      "bytes content = 2",
	} {
		if out := run(t, grpcurl, "-plaintext", addr, "describe", symbol); !strings.Contains(out, want) {
			t.Errorf("describe %s:\n%s\nwant it to contain %q", symbol, out, want)
		}
	}
}

// With the Open Inference Protocol's typed contents, a signal is plain JSON numbers in and out of grpcurl.
func TestGrpcurlCallsModelInferWithJSONNumbers(t *testing.T) {
	grpcurl := tool(t, "SIGOP_GRPCURL")
	request := `{"model_name": "fft", "inputs": [{"name": "signals", "datatype": "FP64", "shape": [1, 4],
	  "contents": {"fp64_contents": [1, 0, -1, 0]}}], "outputs": [{"name": "magnitude"}]}`
	out := run(t, grpcurl, "-plaintext", "-d", request, addr, "inference.GRPCInferenceService/ModelInfer")
	var reply struct {
		Outputs []struct {
			Name     string
			Shape    []string
			Contents struct {
				Fp64Contents []float64 `json:"fp64_contents"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &reply); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	// |X[k]| of [1, 0, -1, 0]: 0, 2, 0
	if len(reply.Outputs) != 1 || fmt.Sprint(reply.Outputs[0].Contents.Fp64Contents) != "[0 2 0]" ||
		fmt.Sprint(reply.Outputs[0].Shape) != "[1 3]" {
		t.Fatalf("ModelInfer through grpcurl:\n%s", out)
	}
}

type ghzReport struct {
	Count                  int
	StatusCodeDistribution map[string]int
	ErrorDistribution      map[string]int
}

func ghz(t *testing.T, args ...string) ghzReport {
	t.Helper()
	out := run(t, tool(t, "SIGOP_GHZ"), append([]string{"--insecure", "--format", "json", "-n", "200", "-c", "4",
		"--timeout", "60s"}, append(args, addr)...)...)
	var r ghzReport
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &r); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	return r
}

// ghz (bojand, built from the proxy) loads both services by reflection alone, no .proto given.
func TestGhzCallsBothServicesByReflectionAlone(t *testing.T) {
	samples := make([]byte, 8*1024)
	for i := range 1024 {
		binary.LittleEndian.PutUint64(samples[8*i:], math.Float64bits(math.Sin(float64(i)/7)))
	}
	fft := ghz(t, "--call", "sigop.operator.v1.Operator.FFT",
		"-d", fmt.Sprintf(`{"signals": {"shape": [1024], "content": %q}}`, base64.StdEncoding.EncodeToString(samples)))
	values := make([]string, 1024)
	for i := range values {
		values[i] = fmt.Sprint(math.Sin(float64(i) / 7))
	}
	infer := ghz(t, "--call", "inference.GRPCInferenceService.ModelInfer", "-d",
		`{"model_name": "fft", "inputs": [{"name": "signals", "datatype": "FP64", "shape": [1, 1024], "contents": {"fp64_contents": [`+
			strings.Join(values, ",")+`]}}]}`)
	for name, r := range map[string]ghzReport{"FFT": fft, "ModelInfer": infer} {
		if r.Count != 200 || r.StatusCodeDistribution["OK"] != 200 {
			t.Errorf("ghz %s: %d calls, codes %v, errors %v; want 200 OK", name, r.Count, r.StatusCodeDistribution, r.ErrorDistribution)
		}
	}
}
