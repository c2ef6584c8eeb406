package operator_test

import (
	"context"
	"errors"
	"math"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	operatorv1 "github.com/sigop-dev/sigop/go/gen/sigop/operator/v1"
	"github.com/sigop-dev/sigop/go/operator"
)

func itoa(n int) string { return strconv.Itoa(n) }

// localServer is an in-memory Operator server that answers with Local, so the
// client's encoding, decoding and error handling are tested without Python.
// The real server is tested end to end in go/e2e.
type localServer struct {
	operatorv1.UnimplementedOperatorServer
	local    *operator.Local
	lastSpec atomic.Pointer[operatorv1.ModelSpec]
}

func (s *localServer) FFT(ctx context.Context, req *operatorv1.FFTRequest) (*operatorv1.FFTResponse, error) {
	s.lastSpec.Store(req.GetModelSpec())
	shape := req.GetSignals().GetShape()
	if len(shape) == 0 || len(shape) > 2 {
		return nil, status.Errorf(codes.InvalidArgument, "bad shape %v", shape)
	}
	rows, n := 1, int(shape[len(shape)-1])
	if len(shape) == 2 {
		rows = int(shape[0])
	}
	if len(req.GetSignals().GetContent()) != 8*rows*n {
		return nil, status.Error(codes.InvalidArgument, "content does not match shape")
	}
	inputs := make([][]float64, rows)
	for r := range inputs {
		inputs[r] = make([]float64, n)
		for i := range inputs[r] {
			inputs[r][i] = leFloat(req.Signals.Content[8*(r*n+i):])
		}
	}
	resp := &operatorv1.FFTResponse{ModelSpec: &operatorv1.ModelSpec{Name: "fft", Version: 1}}
	outShape := append([]int64(nil), shape...)
	outShape[len(outShape)-1] = int64(n/2 + 1)
	for _, want := range req.GetSpectra() {
		switch want {
		case operatorv1.Spectrum_SPECTRUM_MAGNITUDE:
			m, err := s.local.Magnitudes(ctx, inputs)
			if err != nil {
				return nil, err
			}
			resp.Magnitude = &operatorv1.Float64Tensor{Shape: outShape, Content: leBytes(m)}
		case operatorv1.Spectrum_SPECTRUM_COMPLEX:
			var re, im [][]float64
			spectra, err := s.local.Spectra(ctx, inputs)
			if err != nil {
				return nil, err
			}
			for _, sp := range spectra {
				r, i := make([]float64, len(sp)), make([]float64, len(sp))
				for k, v := range sp {
					r[k], i[k] = real(v), imag(v)
				}
				re, im = append(re, r), append(im, i)
			}
			resp.Real = &operatorv1.Float64Tensor{Shape: outShape, Content: leBytes(re)}
			resp.Imag = &operatorv1.Float64Tensor{Shape: outShape, Content: leBytes(im)}
		}
	}
	return resp, nil
}

func leFloat(b []byte) float64 {
	var u uint64
	for i := 7; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	return math.Float64frombits(u)
}

func leBytes(rows [][]float64) []byte {
	var out []byte
	for _, r := range rows {
		for _, v := range r {
			u := math.Float64bits(v)
			for i := 0; i < 8; i++ {
				out = append(out, byte(u>>(8*i)))
			}
		}
	}
	return out
}

func startBufconn(t *testing.T, srv operatorv1.OperatorServer, opts ...operator.Option) *operator.Client {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer()
	operatorv1.RegisterOperatorServer(s, srv)
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	opts = append(opts, operator.WithDialOptions(
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	))
	c, err := operator.Dial("passthrough:///bufconn", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestClientAgreesWithLocal(t *testing.T) {
	f := loadVectors(t)
	local := operator.NewLocal()
	client := startBufconn(t, &localServer{local: local})
	ctx := context.Background()
	for _, c := range f.Cases {
		if c.N > 65536 {
			continue // the large case runs end to end against the real server
		}
		t.Run(c.Name, func(t *testing.T) {
			inputs := c.Inputs()
			var got [][]float64
			var err error
			if c.Batch == 1 {
				var m []float64
				m, err = client.FFT(inputs[0])
				got = [][]float64{m}
			} else {
				got, err = client.Magnitudes(ctx, inputs)
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := local.Magnitudes(ctx, inputs)
			if err != nil {
				t.Fatal(err)
			}
			for r := range want {
				for k := range want[r] {
					if got[r][k] != want[r][k] {
						t.Fatalf("client FFT[%d][%d] = %v; Local = %v", r, k, got[r][k], want[r][k])
					}
				}
			}
			spec, err := client.Spectra(ctx, inputs)
			if err != nil {
				t.Fatal(err)
			}
			wantSpec, _ := local.Spectra(ctx, inputs)
			for r := range wantSpec {
				for k := range wantSpec[r] {
					if spec[r][k] != wantSpec[r][k] {
						t.Fatalf("client Spectra[%d][%d] = %v; Local = %v", r, k, spec[r][k], wantSpec[r][k])
					}
				}
			}
		})
	}
}

func TestClientSendsModelName(t *testing.T) {
	srv := &localServer{local: operator.NewLocal()}
	client := startBufconn(t, srv, operator.WithFFTModel("fft-v2"))
	if _, err := client.FFT([]float64{1, 2}); err != nil {
		t.Fatal(err)
	}
	if got := srv.lastSpec.Load().GetName(); got != "fft-v2" {
		t.Fatalf("server saw model %q; want %q", got, "fft-v2")
	}
}

// Server errors keep their gRPC status through the client's wrapping.
func TestClientPreservesStatus(t *testing.T) {
	client := startBufconn(t, &localServer{local: operator.NewLocal()})
	_, err := client.FFT([]float64{1, math.NaN()})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("FFT(NaN) error = %v; want code InvalidArgument", err)
	}
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		t.Fatalf("FFT(NaN) error %v does not wrap a gRPC status", err)
	}
}

func TestClientRejectsRaggedBatchLocally(t *testing.T) {
	srv := &localServer{local: operator.NewLocal()}
	client := startBufconn(t, srv)
	_, err := client.Magnitudes(context.Background(), [][]float64{{1, 2, 3}, {1, 2}})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("Magnitudes(ragged) error = %v; want code InvalidArgument", err)
	}
	if srv.lastSpec.Load() != nil {
		t.Fatal("a ragged batch reached the server")
	}
}

type slowServer struct {
	operatorv1.UnimplementedOperatorServer
}

func (slowServer) FFT(ctx context.Context, _ *operatorv1.FFTRequest) (*operatorv1.FFTResponse, error) {
	<-ctx.Done()
	return nil, status.FromContextError(ctx.Err()).Err()
}

func TestClientDefaultTimeout(t *testing.T) {
	client := startBufconn(t, slowServer{}, operator.WithTimeout(50*time.Millisecond))
	if _, err := client.FFT([]float64{1}); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("FFT against a server that never answers: error = %v; want DeadlineExceeded", err)
	}
}

func TestClientRejectsMalformedResponse(t *testing.T) {
	client := startBufconn(t, shortServer{})
	if _, err := client.FFT([]float64{1, 2, 3, 4}); err == nil {
		t.Fatal("FFT accepted a response with too few bytes")
	}
}

type shortServer struct {
	operatorv1.UnimplementedOperatorServer
}

func (shortServer) FFT(context.Context, *operatorv1.FFTRequest) (*operatorv1.FFTResponse, error) {
	return &operatorv1.FFTResponse{Magnitude: &operatorv1.Float64Tensor{Shape: []int64{3}, Content: make([]byte, 16)}}, nil
}
