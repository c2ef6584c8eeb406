//go:build e2e

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/sigop-dev/sigop/go/operator"
	"github.com/sigop-dev/sigop/go/serverproc"
)

// pki writes a throwaway CA, a server certificate for 127.0.0.1 and a client
// certificate into dir, all generated now.
type pki struct{ ca, serverCert, serverKey, clientCert, clientKey string }

func newPKI(t *testing.T, dir string) pki {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sigop test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	issue := func(name string, serial int64, usage x509.ExtKeyUsage, ips []net.IP) (string, string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, _ := x509.MarshalECPrivateKey(key)
		certPath, keyPath := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
		os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
		os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
		return certPath, keyPath
	}
	p := pki{ca: filepath.Join(dir, "ca.crt")}
	os.WriteFile(p.ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600)
	p.serverCert, p.serverKey = issue("server", 2, x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	p.clientCert, p.clientKey = issue("client", 3, x509.ExtKeyUsageClientAuth, nil)
	return p
}

// A server with mutual TLS and a bearer token: only a client with both gets in.
func TestMutualTLSAndToken(t *testing.T) {
	dir := t.TempDir()
	p := newPKI(t, dir)
	const token = "s3cret-token"
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(token+"\n"), 0o600)

	caPool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(p.ca)
	caPool.AppendCertsFromPEM(caPEM)
	clientPair, err := tls.LoadX509KeyPair(p.clientCert, p.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	healthCreds := credentials.NewTLS(&tls.Config{RootCAs: caPool, Certificates: []tls.Certificate{clientPair}})
	srv, err := serverproc.Start(ctxT(t), serverproc.Config{
		Command: os.Getenv("SIGOP_BIN"), Graphs: os.Getenv("SIGOP_GRAPHS"),
		Args: []string{"--tls-cert", p.serverCert, "--tls-key", p.serverKey, "--tls-client-ca", p.ca,
			"--token-file", tokenFile, "--poll-seconds", "0"},
		DialOptions: []grpc.DialOption{grpc.WithTransportCredentials(healthCreds)},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop(time.Minute)
	if !strings.HasPrefix(srv.Addr, "127.0.0.1:") {
		t.Fatalf("server listens on %s; want loopback", srv.Addr)
	}

	tests := []struct {
		name string
		opts []operator.Option
		code codes.Code
	}{
		{"TLS, client certificate and token", []operator.Option{operator.WithTLS(p.ca), operator.WithClientCertificate(p.clientCert, p.clientKey), operator.WithToken(token)}, codes.OK},
		{"no token", []operator.Option{operator.WithTLS(p.ca), operator.WithClientCertificate(p.clientCert, p.clientKey)}, codes.Unauthenticated},
		{"wrong token", []operator.Option{operator.WithTLS(p.ca), operator.WithClientCertificate(p.clientCert, p.clientKey), operator.WithToken("s3cret-tokem")}, codes.Unauthenticated},
		{"no client certificate", []operator.Option{operator.WithTLS(p.ca), operator.WithToken(token)}, codes.Unavailable},
		{"plaintext", []operator.Option{operator.WithToken(token)}, codes.Unavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := operator.Dial(srv.Addr, append(tc.opts, operator.WithTimeout(10*time.Second))...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got, err := c.FFT([]float64{1, 0, 0, 0})
			if status.Code(err) != tc.code {
				t.Fatalf("FFT = %v, %v; want code %v", got, err, tc.code)
			}
			if tc.name == "plaintext" && !strings.Contains(err.Error(), "connect with TLS") {
				t.Fatalf("plaintext on a TLS port: %v; want the hint to connect with TLS", err)
			}
			if err != nil {
				t.Logf("%v: %s", status.Code(err), status.Convert(err).Message())
			}
		})
	}

	// Health needs the TLS handshake but no token, so probes carry no secret.
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(healthCreds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctxT(t), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health over mTLS without token = %v, %v; want SERVING", resp, err)
	}
}
