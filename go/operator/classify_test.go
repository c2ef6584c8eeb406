package operator_test

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	operatorv1 "github.com/sigop-dev/sigop/go/gen/sigop/operator/v1"
	"github.com/sigop-dev/sigop/go/operator"
)

// rankServer answers with one fixed ranking per input and records what it got.
type rankServer struct {
	operatorv1.UnimplementedOperatorServer
	short bool
}

func ranking(n int) []*operatorv1.Classification {
	out := make([]*operatorv1.Classification, n)
	for i := range out {
		out[i] = &operatorv1.Classification{Classes: []*operatorv1.Class{{Label: "blue", Score: 0.75}, {Label: "red", Score: 0.25}}}
	}
	return out
}

func (s *rankServer) Classify(_ context.Context, req *operatorv1.ClassifyRequest) (*operatorv1.ClassifyResponse, error) {
	if req.GetModelSpec().GetName() != "article" || req.GetTopK() != 2 {
		return nil, status.Errorf(codes.InvalidArgument, "got model %q top_k %d", req.GetModelSpec().GetName(), req.GetTopK())
	}
	n := len(req.GetImages())
	if s.short {
		n--
	}
	return &operatorv1.ClassifyResponse{Classifications: ranking(n)}, nil
}

func (s *rankServer) ClassifySignal(_ context.Context, req *operatorv1.ClassifySignalRequest) (*operatorv1.ClassifySignalResponse, error) {
	shape := req.GetSignals().GetShape()
	rows := 1
	if len(shape) == 2 {
		rows = int(shape[0])
	}
	if len(req.GetSignals().GetContent()) != 8*rows*int(shape[len(shape)-1]) {
		return nil, status.Error(codes.InvalidArgument, "content does not match shape")
	}
	return &operatorv1.ClassifySignalResponse{Classifications: ranking(rows)}, nil
}

func TestClientClassify(t *testing.T) {
	c := startBufconn(t, &rankServer{}, operator.WithClassifier("article"), operator.WithTopK(2))
	got, err := c.Classify([]byte("png bytes"))
	if err != nil {
		t.Fatal(err)
	}
	want := []operator.Class{{Label: "blue", Score: 0.75}, {Label: "red", Score: 0.25}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Classify = %v; want %v", got, want)
	}
	batch, err := c.ClassifyBatchContext(context.Background(), [][]byte{{1}, {2}, {3}})
	if err != nil || len(batch) != 3 {
		t.Fatalf("ClassifyBatchContext(3 images) = %v, %v; want 3 rankings", batch, err)
	}
	sig, err := c.ClassifySignalBatchContext(context.Background(), [][]float64{{1, 2}, {3, 4}})
	if err != nil || len(sig) != 2 || sig[1][0] != want[0] {
		t.Fatalf("ClassifySignalBatchContext = %v, %v", sig, err)
	}
	one, err := c.ClassifySignal([]float64{1, 2, 3})
	if err != nil || one[0] != want[0] {
		t.Fatalf("ClassifySignal = %v, %v", one, err)
	}
}

func TestClientClassifyRejectsShortResponse(t *testing.T) {
	c := startBufconn(t, &rankServer{short: true}, operator.WithClassifier("article"), operator.WithTopK(2))
	if _, err := c.ClassifyBatchContext(context.Background(), [][]byte{{1}, {2}}); err == nil {
		t.Fatal("a response with fewer classifications than images was accepted")
	}
}

func TestClientClassifyKeepsStatus(t *testing.T) {
	c := startBufconn(t, &rankServer{}) // no classifier name: the server says InvalidArgument
	if _, err := c.Classify([]byte{1}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("Classify error = %v; want InvalidArgument", err)
	}
	if _, err := c.ClassifySignalBatchContext(context.Background(), [][]float64{{1, 2}, {1}}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("ClassifySignalBatchContext(ragged) error = %v; want InvalidArgument", err)
	}
}

func TestLocalHasNoClassifier(t *testing.T) {
	var op operator.Operator = operator.NewLocal()
	if _, err := op.Classify([]byte{1}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("Local.Classify error = %v; want Unimplemented", err)
	}
}
