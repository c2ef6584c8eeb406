package dial

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// plaintextHint is added to the error a plaintext client gets from a TLS
// port: gRPC's own words ("error reading server preface: EOF", or a frame
// it cannot parse) do not say that the server wanted TLS.
const plaintextHint = " (a plaintext connection was refused or closed before gRPC began: if the server uses TLS, " +
	"connect with TLS: operator.WithTLS / inference.WithTLS, sigop-client --tls or --tls-ca)"

// plaintextSymptoms are the transport errors gRPC-Go reports when a TLS
// server answers a plaintext HTTP/2 preface.
var plaintextSymptoms = []string{"error reading server preface", "http2: frame too large", "first record does not look like a TLS handshake"}

func hinted(err error) error {
	s, ok := status.FromError(err)
	if !ok || s.Code() != codes.Unavailable || strings.Contains(s.Message(), plaintextHint) {
		return err
	}
	for _, symptom := range plaintextSymptoms {
		if strings.Contains(s.Message(), symptom) {
			return status.Error(codes.Unavailable, s.Message()+plaintextHint)
		}
	}
	return err
}

func hintUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return hinted(invoker(ctx, method, req, reply, cc, opts...))
}

func hintStream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, hinted(err)
	}
	return hintedStream{s}, nil
}

type hintedStream struct{ grpc.ClientStream }

func (s hintedStream) RecvMsg(m any) error { return hinted(s.ClientStream.RecvMsg(m)) }
func (s hintedStream) SendMsg(m any) error { return hinted(s.ClientStream.SendMsg(m)) }
