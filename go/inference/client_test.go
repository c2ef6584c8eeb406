package inference

import (
	"context"
	"net"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	inferencepb "github.com/sigop-dev/sigop/go/gen/inference"
)

// echo answers each input as an output of the same name, in the form it came (raw or typed), and keeps the
// last request for the test to read.
type echo struct {
	inferencepb.UnimplementedGRPCInferenceServiceServer
	last *inferencepb.ModelInferRequest
}

func (e *echo) ModelInfer(_ context.Context, r *inferencepb.ModelInferRequest) (*inferencepb.ModelInferResponse, error) {
	e.last = r
	if r.ModelName == "missing" {
		return nil, status.Error(codes.NotFound, "no such model")
	}
	out := &inferencepb.ModelInferResponse{ModelName: r.ModelName, ModelVersion: "3", Id: r.Id, RawOutputContents: r.RawInputContents}
	for _, in := range r.Inputs {
		out.Outputs = append(out.Outputs, &inferencepb.ModelInferResponse_InferOutputTensor{
			Name: in.Name, Datatype: in.Datatype, Shape: in.Shape, Contents: in.Contents})
	}
	return out, nil
}

func (e *echo) ModelMetadata(_ context.Context, r *inferencepb.ModelMetadataRequest) (*inferencepb.ModelMetadataResponse, error) {
	return &inferencepb.ModelMetadataResponse{Name: r.Name, Versions: []string{"1", "3"}, Platform: "echo",
		Inputs: []*inferencepb.ModelMetadataResponse_TensorMetadata{{Name: "x", Datatype: "FP64", Shape: []int64{-1, 4}}}}, nil
}

func serve(t *testing.T) (*Client, *echo) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer()
	e := &echo{}
	inferencepb.RegisterGRPCInferenceServiceServer(s, e)
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	c, err := Dial("passthrough:///bufnet", WithDialOptions(
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, e
}

func inputs() []*Tensor {
	return []*Tensor{
		FP64Rows("signals", [][]float64{{1.5, -2, 3e300}, {0, 4, -5e-300}}),
		FP32("f", []int64{2}, []float32{0.25, -7}),
		INT32("i", []int64{3}, []int32{-1, 0, 1 << 30}),
		INT64("l", []int64{1}, []int64{-1 << 62}),
		UINT8("u", []int64{1, 2}, []uint8{0, 255}),
		BOOL("b", []int64{2}, []bool{true, false}),
		BYTES("s", []int64{2}, [][]byte{[]byte("PNG…"), {}}),
	}
}

func TestValuesSurviveRawAndTypedContents(t *testing.T) {
	c, e := serve(t)
	for _, typed := range []bool{false, true} {
		opts := []CallOption{RequestID("r-1"), Version("3")}
		if typed {
			opts = append(opts, TypedContents())
		}
		r, err := c.Infer(context.Background(), "m", inputs(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		if typed != (len(e.last.RawInputContents) == 0) || e.last.ModelVersion != "3" {
			t.Fatalf("typed=%v: request had %d raw contents, version %q", typed, len(e.last.RawInputContents), e.last.ModelVersion)
		}
		if r.ID != "r-1" || r.ModelVersion != "3" || len(r.Outputs) != 7 {
			t.Fatalf("typed=%v: reply %+v", typed, r)
		}
		get := func(name string) *Tensor {
			o, err := r.Output(name)
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		f64, _ := get("signals").Float64s()
		f32, _ := get("f").Float32s()
		i32, _ := get("i").Int64s()
		i64, _ := get("l").Int64s()
		u8, _ := get("u").Int64s()
		b, _ := get("b").Bools()
		s, _ := get("s").Strings()
		got := []any{f64, f32, i32, i64, u8, b, s, get("signals").Shape}
		want := []any{[]float64{1.5, -2, 3e300, 0, 4, -5e-300}, []float32{0.25, -7}, []int64{-1, 0, 1 << 30}, []int64{-1 << 62},
			[]int64{0, 255}, []bool{true, false}, []string{"PNG…", ""}, []int64{2, 3}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("typed=%v: got %v; want %v", typed, got, want)
		}
		if _, err := get("f").Float64s(); err != nil {
			t.Errorf("FP32 as float64: %v", err)
		}
		if _, err := get("s").Float32s(); err == nil || !strings.Contains(err.Error(), "expected FP32") {
			t.Errorf("BYTES as FP32: err = %v; want a datatype error", err)
		}
	}
}

func TestOutputsClassificationAndParametersReachTheServer(t *testing.T) {
	c, e := serve(t)
	_, err := c.Infer(context.Background(), "m", inputs()[:1], Outputs("label"), Classification("probabilities", 2),
		Parameter("sample_rate", 8000.0), Parameter("top_k", 1))
	if err != nil {
		t.Fatal(err)
	}
	r := e.last
	if len(r.Outputs) != 2 || r.Outputs[0].Name != "label" || r.Outputs[1].Parameters["classification"].GetInt64Param() != 2 {
		t.Errorf("outputs = %v", r.Outputs)
	}
	if r.Parameters["sample_rate"].GetDoubleParam() != 8000 || r.Parameters["top_k"].GetInt64Param() != 1 {
		t.Errorf("parameters = %v", r.Parameters)
	}
	if _, err := c.Infer(context.Background(), "missing", inputs()[:1]); status.Code(err) != codes.NotFound {
		t.Errorf("unknown model: %v; want NotFound", err)
	}
	m, err := c.ModelMetadata(context.Background(), "m", "")
	if err != nil || !reflect.DeepEqual(m.Inputs, []TensorMetadata{{"x", "FP64", []int64{-1, 4}}}) || m.Platform != "echo" {
		t.Errorf("metadata = %+v, %v", m, err)
	}
}

func TestMalformedTensorsFailBeforeTheCall(t *testing.T) {
	c, e := serve(t)
	bad := map[string]*Tensor{
		"ragged rows":     FP64Rows("x", [][]float64{{1, 2}, {3}}),
		"short raw":       Raw("x", "FP64", []int64{2}, make([]byte, 8)),
		"unknown type":    Raw("x", "COMPLEX", []int64{1}, make([]byte, 8)),
		"negative shape":  FP64("x", []int64{-1}, nil),
		"bytes count":     BYTES("x", []int64{3}, [][]byte{{1}}),
		"parameter type":  {Name: "x", Datatype: "FP64", Shape: []int64{1}, raw: make([]byte, 8), Parameters: map[string]any{"p": []int{1}}},
		"overflow shape":  FP64("x", []int64{1 << 40, 1 << 40}, nil),
		"FP16 typed only": Raw("x", "FP16", []int64{1}, make([]byte, 2)),
	}
	for name, tensor := range bad {
		e.last = nil
		opts := []CallOption{}
		if name == "FP16 typed only" {
			opts = append(opts, TypedContents())
		}
		if _, err := c.Infer(context.Background(), "m", []*Tensor{tensor}, opts...); err == nil || e.last != nil {
			t.Errorf("%s: err = %v, server called: %v; want a local error", name, err, e.last != nil)
		}
	}
}

func TestClassesAndMalformedReplies(t *testing.T) {
	out := BYTES("probabilities", []int64{2, 2}, [][]byte{[]byte("0.9:1:red"), []byte("0.1:0:blue"), []byte("0.75:0"), []byte("0.25:1:a:b")})
	got, err := out.Classes()
	want := [][]Class{{{0.9, 1, "red"}, {0.1, 0, "blue"}}, {{0.75, 0, ""}, {0.25, 1, "a:b"}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Classes() = %v, %v; want %v", got, err, want)
	}
	if _, err := BYTES("p", []int64{1, 1}, [][]byte{[]byte("high:1:red")}).Classes(); err == nil {
		t.Error("a score that is not a number: no error")
	}
	for name, resp := range map[string]*inferencepb.ModelInferResponse{
		"raw count": {Outputs: []*inferencepb.ModelInferResponse_InferOutputTensor{{Name: "a", Datatype: "FP64", Shape: []int64{1}}},
			RawOutputContents: [][]byte{make([]byte, 8), nil}},
		"raw size": {Outputs: []*inferencepb.ModelInferResponse_InferOutputTensor{{Name: "a", Datatype: "FP64", Shape: []int64{2}}},
			RawOutputContents: [][]byte{make([]byte, 8)}},
		"bytes length": {Outputs: []*inferencepb.ModelInferResponse_InferOutputTensor{{Name: "a", Datatype: "BYTES", Shape: []int64{1}}},
			RawOutputContents: [][]byte{{0xff, 0xff, 0xff, 0x7f, 1}}},
		"typed count": {Outputs: []*inferencepb.ModelInferResponse_InferOutputTensor{{Name: "a", Datatype: "FP32", Shape: []int64{3},
			Contents: &inferencepb.InferTensorContents{Fp32Contents: []float32{1}}}}},
	} {
		if _, err := decodeResult(resp); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}
