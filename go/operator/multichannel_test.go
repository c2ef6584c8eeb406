package operator_test

import (
	"context"
	"encoding/binary"
	"io"
	"math"
	"slices"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	operatorv1 "github.com/sigop-dev/sigop/go/gen/sigop/operator/v1"
	"github.com/sigop-dev/sigop/go/operator"
)

// channelServer records what multichannel calls put on the wire: the
// signals' shape and values, each stream chunk's shape; it lists one model
// of three named channels.
type channelServer struct {
	operatorv1.UnimplementedOperatorServer
	shape  []int64
	values []float64
	chunks chan []int64
}

func decode(t *operatorv1.Float64Tensor) []float64 {
	out := make([]float64, len(t.GetContent())/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.GetContent()[8*i:]))
	}
	return out
}

func (s *channelServer) ClassifySignal(_ context.Context, req *operatorv1.ClassifySignalRequest) (*operatorv1.ClassifySignalResponse, error) {
	s.shape, s.values = req.GetSignals().GetShape(), decode(req.GetSignals())
	out := &operatorv1.ClassifySignalResponse{ModelSpec: &operatorv1.ModelSpec{Name: "imu", Version: 1}}
	for range s.shape[0] {
		out.Classifications = append(out.Classifications, &operatorv1.Classification{Classes: []*operatorv1.Class{{Label: "walk", Score: 1}}})
	}
	return out, nil
}

func (s *channelServer) ClassifyStream(call grpc.BidiStreamingServer[operatorv1.ClassifyStreamRequest, operatorv1.ClassifyStreamResponse]) error {
	defer close(s.chunks)
	for {
		req, err := call.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if req.GetSamples() != nil {
			s.chunks <- req.GetSamples().GetShape()
		}
	}
}

func (s *channelServer) ListModels(context.Context, *operatorv1.ListModelsRequest) (*operatorv1.ListModelsResponse, error) {
	xyz := []string{"x", "y", "z"}
	return &operatorv1.ListModelsResponse{Models: []*operatorv1.ModelStatus{
		{Name: "imu", Versions: []*operatorv1.ModelVersionStatus{{Version: 1, Kind: "classifier", InputForm: "waveform",
			Channels: 3, ChannelNames: xyz, SampleRate: 1000, Samples: 2048}}},
		{Name: "speech", Versions: []*operatorv1.ModelVersionStatus{{Version: 1, Kind: "classifier", InputForm: "waveform",
			Channels: 1, SampleRate: 16000, Samples: 16000}}},
		{Name: "vib", Versions: []*operatorv1.ModelVersionStatus{{Version: 1, Kind: "classifier", InputForm: "spectrum",
			Channels: 3, ChannelNames: xyz, Samples: 8192}}},
		{Name: "photos", Versions: []*operatorv1.ModelVersionStatus{{Version: 1, Kind: "classifier", InputForm: "images"}}},
	}}, nil
}

func TestClassifyMultichannelSendsBatchChannelsSamples(t *testing.T) {
	srv := &channelServer{}
	c := startBufconn(t, srv, operator.WithClassifier("imu"))
	signals := [][][]float64{{{1, 2}, {3, 4}, {5, 6}}, {{7, 8}, {9, 10}, {11, 12}}}
	r, err := c.ClassifyMultichannel(context.Background(), signals)
	if err != nil || len(r.Classes) != 2 {
		t.Fatalf("ClassifyMultichannel = %+v, %v", r, err)
	}
	if !slices.Equal(srv.shape, []int64{2, 3, 2}) || !slices.Equal(srv.values, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}) {
		t.Fatalf("sent shape %v values %v; want [2 3 2] and the values signal by signal, channel by channel", srv.shape, srv.values)
	}
	for _, bad := range [][][][]float64{
		{{{1, 2}, {3, 4}}, {{1, 2}}}, // channels differ between signals
		{{{1, 2}, {3}}},              // a channel shorter than the others
	} {
		if _, err := c.ClassifyMultichannel(context.Background(), bad); status.Code(err) != codes.InvalidArgument {
			t.Errorf("ClassifyMultichannel(%v) = %v; want InvalidArgument before any call", bad, err)
		}
	}
}

func TestSendMultichannelSendsChannelsByChunk(t *testing.T) {
	srv := &channelServer{chunks: make(chan []int64, 4)}
	c := startBufconn(t, srv, operator.WithClassifier("imu"))
	s, err := c.ClassifyStream(context.Background(), operator.StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SendMultichannel([][]float64{{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SendMultichannel([][]float64{{1, 2}, {3}}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("a ragged chunk: %v; want InvalidArgument", err)
	}
	s.CloseSend()
	if got := <-srv.chunks; !slices.Equal(got, []int64{3, 4}) {
		t.Fatalf("chunk shape %v; want [3 4]: channels, samples", got)
	}
}

func TestModelsSayHowManyChannelsASignalHas(t *testing.T) {
	models, err := startBufconn(t, &channelServer{}).Models(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	imu, speech, vib, photos := models["imu"][0], models["speech"][0], models["vib"][0], models["photos"][0]
	if imu.Channels != 3 || !slices.Equal(imu.ChannelNames, []string{"x", "y", "z"}) || imu.SampleRate != 1000 || imu.Samples != 2048 {
		t.Errorf("imu: %+v; want 3 channels x,y,z at 1000 Hz, 2048 samples", imu)
	}
	// A spectrum-image model of three channels is as much a three-channel model as a waveform one.
	if vib.InputForm != "spectrum" || vib.Channels != 3 || vib.SampleRate != 0 || vib.Samples != 8192 {
		t.Errorf("vib: %+v; want a spectrum model of 3 channels, no rate, 8192 samples", vib)
	}
	if speech.Channels != 1 || photos.Channels != 0 || photos.InputForm != "images" {
		t.Errorf("speech takes 1 channel (got %d), photos none (got %d, %q)", speech.Channels, photos.Channels, photos.InputForm)
	}
}
