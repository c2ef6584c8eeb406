package dial

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// tlsServer serves gRPC health over TLS on a free port with a certificate made now.
func tlsServer(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewServerTLSFromCert(&tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key})))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// A plaintext client on a TLS port is told to use TLS, unary and streaming alike.
func TestAPlaintextClientOnATLSPortIsToldToUseTLS(t *testing.T) {
	addr := tlsServer(t)
	conn, err := Settings{MaxMessageBytes: 1 << 20}.NewClient(addr, "grpc.health.v1.Health")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := healthpb.NewHealthClient(conn)
	_, err = client.Check(ctx, &healthpb.HealthCheckRequest{})
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "connect with TLS") {
		t.Fatalf("plaintext Check on a TLS port: %v; want Unavailable naming TLS", err)
	}
	watch, err := client.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err == nil {
		_, err = watch.Recv()
	}
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "connect with TLS") {
		t.Fatalf("plaintext Watch on a TLS port: %v; want Unavailable naming TLS", err)
	}
}

// Other errors pass unchanged: the hint is for the TLS symptom only.
func TestOtherErrorsKeepTheirWords(t *testing.T) {
	for _, err := range []error{status.Error(codes.Unavailable, "connection refused"),
		status.Error(codes.InvalidArgument, "error reading server preface")} {
		if got := hinted(err); got != err {
			t.Fatalf("hinted(%v) = %v; want it unchanged", err, got)
		}
	}
}
