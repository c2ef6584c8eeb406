package operator_test

import (
	"bytes"
	"context"
	"math"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	operatorv1 "github.com/sigop-dev/sigop/go/gen/sigop/operator/v1"
	"github.com/sigop-dev/sigop/go/operator"
)

// audioServer ranks one entry per file and remembers the last request.
type audioServer struct {
	rankServer
	audio [][]byte
	rate  float64
}

func (s *audioServer) ClassifyAudio(_ context.Context, req *operatorv1.ClassifyAudioRequest) (*operatorv1.ClassifyAudioResponse, error) {
	if req.GetModelSpec().GetName() != "digits" || req.GetTopK() != 2 {
		return nil, status.Errorf(codes.InvalidArgument, "got model %q top_k %d", req.GetModelSpec().GetName(), req.GetTopK())
	}
	s.audio = req.GetAudio()
	return &operatorv1.ClassifyAudioResponse{Classifications: ranking(len(req.GetAudio()))}, nil
}

func (s *audioServer) ClassifySignal(ctx context.Context, req *operatorv1.ClassifySignalRequest) (*operatorv1.ClassifySignalResponse, error) {
	s.rate = req.GetSampleRate()
	return s.rankServer.ClassifySignal(ctx, req)
}

func TestClientClassifyAudioSendsFilesAsTheyAre(t *testing.T) {
	srv := &audioServer{}
	c := startBufconn(t, srv, operator.WithClassifier("digits"), operator.WithTopK(2))
	files := [][]byte{[]byte("RIFF....WAVEfmt "), []byte("fLaC")}
	got, err := c.ClassifyAudioBatchContext(context.Background(), files)
	if err != nil || len(got) != 2 || got[0][0].Label != "blue" {
		t.Fatalf("ClassifyAudioBatchContext = %v, %v", got, err)
	}
	if len(srv.audio) != 2 || !bytes.Equal(srv.audio[0], files[0]) || !bytes.Equal(srv.audio[1], files[1]) {
		t.Fatalf("server got %q; want the files unchanged", srv.audio)
	}
	if one, err := c.ClassifyAudio(files[0]); err != nil || len(one) != 2 {
		t.Fatalf("ClassifyAudio = %v, %v", one, err)
	}
	if _, err := c.ClassifyAudioBatchContext(context.Background(), nil); err == nil {
		t.Fatal("ClassifyAudioBatchContext accepted no files")
	}
	other := startBufconn(t, srv, operator.WithClassifier("article"), operator.WithTopK(2))
	if _, err := other.ClassifyAudio(files[0]); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("server error = %v; want its InvalidArgument status kept", err)
	}
}

func TestClientClassifySignalsAtRate(t *testing.T) {
	srv := &audioServer{}
	c := startBufconn(t, srv, operator.WithClassifier("digits"), operator.WithTopK(2))
	got, err := c.ClassifySignalsAtRateContext(context.Background(), [][]float64{{1, 2, 3}, {4, 5, 6}}, 44100)
	if err != nil || len(got) != 2 || srv.rate != 44100 {
		t.Fatalf("ClassifySignalsAtRateContext = %v, %v; server saw rate %g", got, err, srv.rate)
	}
	if _, err := c.ClassifySignal([]float64{1, 2}); err != nil || srv.rate != 0 {
		t.Fatalf("ClassifySignal sent rate %g (err %v); want 0, the model's own", srv.rate, err)
	}
	for _, bad := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := c.ClassifySignalsAtRateContext(context.Background(), [][]float64{{1}}, bad); err == nil {
			t.Fatalf("sample rate %g accepted", bad)
		}
	}
}
