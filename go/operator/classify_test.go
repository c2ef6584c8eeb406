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

// rankServer answers every classification call with one fixed ranking per
// input, cut to the call's top_k, as the model and version the call named
// (version 0 answers as 7, the "newest"); it records the last request.
type rankServer struct {
	operatorv1.UnimplementedOperatorServer
	short bool
	// unknown: each input i's unknown score is i, over the threshold from 1 on
	unknown bool
	spec    *operatorv1.ModelSpec
	topK    int32
	rate    float64
	audio   [][]byte
}

func (s *rankServer) answer(spec *operatorv1.ModelSpec, topK int32, n int) (*operatorv1.ModelSpec, []*operatorv1.Classification, error) {
	s.spec, s.topK = spec, topK
	if spec.GetName() == "" {
		return nil, nil, status.Error(codes.InvalidArgument, "model_spec.name is required")
	}
	if s.short {
		n--
	}
	out := make([]*operatorv1.Classification, n)
	for i := range out {
		classes := []*operatorv1.Class{{Label: "blue", Score: 0.75}, {Label: "red", Score: 0.25}}
		if topK > 0 && int(topK) < len(classes) {
			classes = classes[:topK]
		}
		out[i] = &operatorv1.Classification{Classes: classes}
		if s.unknown {
			score := float32(i)
			out[i].UnknownScore, out[i].Unknown = &score, i >= 1
		}
	}
	version := spec.GetVersion()
	if version == 0 {
		version = 7
	}
	return &operatorv1.ModelSpec{Name: spec.GetName(), Version: version}, out, nil
}

func (s *rankServer) Classify(_ context.Context, req *operatorv1.ClassifyRequest) (*operatorv1.ClassifyResponse, error) {
	spec, cl, err := s.answer(req.GetModelSpec(), req.GetTopK(), len(req.GetImages()))
	return &operatorv1.ClassifyResponse{ModelSpec: spec, Classifications: cl}, err
}

func (s *rankServer) ClassifySignal(_ context.Context, req *operatorv1.ClassifySignalRequest) (*operatorv1.ClassifySignalResponse, error) {
	shape := req.GetSignals().GetShape()
	if len(shape) != 2 || len(req.GetSignals().GetContent()) != 8*int(shape[0]*shape[1]) {
		return nil, status.Error(codes.InvalidArgument, "content does not match shape")
	}
	s.rate = req.GetSampleRate()
	spec, cl, err := s.answer(req.GetModelSpec(), req.GetTopK(), int(shape[0]))
	return &operatorv1.ClassifySignalResponse{ModelSpec: spec, Classifications: cl}, err
}

func (s *rankServer) ClassifyAudio(_ context.Context, req *operatorv1.ClassifyAudioRequest) (*operatorv1.ClassifyAudioResponse, error) {
	s.audio = req.GetAudio()
	spec, cl, err := s.answer(req.GetModelSpec(), req.GetTopK(), len(req.GetAudio()))
	return &operatorv1.ClassifyAudioResponse{ModelSpec: spec, Classifications: cl}, err
}

func TestClassifyUsesTheDialDefaultsAndSaysWhichVersionAnswered(t *testing.T) {
	srv := &rankServer{}
	c := startBufconn(t, srv, operator.WithClassifier("article"), operator.WithTopK(2))
	got, err := c.ClassifyImages(context.Background(), [][]byte{[]byte("png bytes"), {2}, {3}})
	if err != nil {
		t.Fatal(err)
	}
	want := []operator.Class{{Label: "blue", Score: 0.75}, {Label: "red", Score: 0.25}}
	if got.Model != "article" || got.Version != 7 || len(got.Classes) != 3 || len(got.Classes[2]) != 2 ||
		got.Classes[2][0] != want[0] || got.Classes[2][1] != want[1] {
		t.Fatalf("ClassifyImages = %+v; want article version 7, 3 rankings of %v", got, want)
	}
	if srv.spec.GetName() != "article" || srv.spec.GetVersion() != 0 || srv.topK != 2 {
		t.Fatalf("server saw %v top_k %d; want the dial defaults", srv.spec, srv.topK)
	}
}

func TestCallOptionsOverrideTheDialDefaultsForOneCall(t *testing.T) {
	srv := &rankServer{}
	c := startBufconn(t, srv, operator.WithClassifier("article"), operator.WithTopK(2))
	got, err := c.ClassifySignals(context.Background(), [][]float64{{1, 2}, {3, 4}},
		operator.Model("motor"), operator.Version(3), operator.TopK(1), operator.SampleRate(44100))
	if err != nil || got.Model != "motor" || got.Version != 3 || len(got.Classes) != 2 || len(got.Classes[1]) != 1 {
		t.Fatalf("ClassifySignals(motor v3 top 1) = %+v, %v", got, err)
	}
	if srv.spec.GetName() != "motor" || srv.spec.GetVersion() != 3 || srv.topK != 1 || srv.rate != 44100 {
		t.Fatalf("server saw %v top_k %d rate %g; want motor v3 top_k 1 at 44100 Hz", srv.spec, srv.topK, srv.rate)
	}
	if _, err := c.ClassifySignals(context.Background(), [][]float64{{1, 2}}); err != nil || srv.spec.GetName() != "article" ||
		srv.rate != 0 || srv.topK != 2 {
		t.Fatalf("the next call saw %v top_k %d rate %g (err %v); options must not outlive their call", srv.spec, srv.topK, srv.rate, err)
	}
	for name, opt := range map[string]operator.CallOption{"rate -1": operator.SampleRate(-1), "rate NaN": operator.SampleRate(math.NaN()),
		"rate +Inf": operator.SampleRate(math.Inf(1)), "top-k -1": operator.TopK(-1), "version -2": operator.Version(-2)} {
		if _, err := c.ClassifySignals(context.Background(), [][]float64{{1}}, opt); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestClassifyAudioSendsFilesAsTheyAre(t *testing.T) {
	srv := &rankServer{}
	c := startBufconn(t, srv, operator.WithClassifier("digits"))
	files := [][]byte{[]byte("RIFF....WAVEfmt "), []byte("fLaC")}
	got, err := c.ClassifyAudio(context.Background(), files)
	if err != nil || len(got.Classes) != 2 || got.Classes[0][0].Label != "blue" {
		t.Fatalf("ClassifyAudio = %+v, %v", got, err)
	}
	if len(srv.audio) != 2 || !bytes.Equal(srv.audio[0], files[0]) || !bytes.Equal(srv.audio[1], files[1]) {
		t.Fatalf("server got %q; want the files unchanged", srv.audio)
	}
	if _, err := c.ClassifyAudio(context.Background(), nil); err == nil {
		t.Fatal("ClassifyAudio accepted no files")
	}
}

func TestClassifyRejectsShortResponse(t *testing.T) {
	c := startBufconn(t, &rankServer{short: true}, operator.WithClassifier("article"))
	if _, err := c.ClassifyImages(context.Background(), [][]byte{{1}, {2}}); err == nil {
		t.Fatal("a response with fewer classifications than images was accepted")
	}
}

func TestClassifyKeepsStatus(t *testing.T) {
	c := startBufconn(t, &rankServer{}) // no classifier name: the server says InvalidArgument
	if _, err := c.ClassifyImages(context.Background(), [][]byte{{1}}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("ClassifyImages error = %v; want InvalidArgument", err)
	}
	if _, err := c.ClassifySignals(context.Background(), [][]float64{{1, 2}, {1}}, operator.Model("article")); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("ClassifySignals(ragged) error = %v; want InvalidArgument", err)
	}
}

func TestEveryResultCarriesTheUnknownScoreOfAModelWithOne(t *testing.T) {
	c := startBufconn(t, &rankServer{unknown: true}, operator.WithClassifier("article"))
	got, err := c.ClassifySignals(context.Background(), [][]float64{{1, 2}, {3, 4}, {5, 6}})
	if err != nil {
		t.Fatal(err)
	}
	want := []operator.Unknown{{Score: 0}, {Score: 1, Unknown: true}, {Score: 2, Unknown: true}}
	if len(got.Unknown) != 3 || got.Unknown[0] != want[0] || got.Unknown[1] != want[1] || got.Unknown[2] != want[2] {
		t.Fatalf("Unknown = %+v; want %+v (a score of 0 is a score, not a missing one)", got.Unknown, want)
	}
	plain := startBufconn(t, &rankServer{}, operator.WithClassifier("article"))
	got, err = plain.ClassifySignals(context.Background(), [][]float64{{1, 2}})
	if err != nil || got.Unknown != nil {
		t.Fatalf("a model without an unknown score: Unknown = %+v, %v; want nil", got.Unknown, err)
	}
}
