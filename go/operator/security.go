package operator

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// WithTLS connects over TLS, trusting the server certificates signed by the
// PEM CA in caFile (empty: the system's roots). For mutual TLS also pass
// WithClientCertificate.
func WithTLS(caFile string) Option {
	return func(o *options) {
		o.tls = true
		o.caFile = caFile
	}
}

// WithClientCertificate presents this PEM certificate and key to a server
// that requires client certificates (sigop serve --tls-client-ca).
func WithClientCertificate(certFile, keyFile string) Option {
	return func(o *options) { o.certFile, o.keyFile = certFile, keyFile }
}

// WithToken sends "authorization: Bearer <token>" on every call (sigop serve
// --token-file). Prefer it with WithTLS: over plaintext the token is readable
// by anyone on the path.
func WithToken(token string) Option { return func(o *options) { o.token = token } }

func (o *options) transportCredentials() (credentials.TransportCredentials, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("sigop: CA file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("sigop: %s holds no PEM certificate", o.caFile)
		}
	}
	if o.certFile != "" || o.keyFile != "" {
		cert, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
		if err != nil {
			return nil, fmt.Errorf("sigop: client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return credentials.NewTLS(cfg), nil
}

// bearer is a PerRPCCredentials carrying a fixed token.
type bearer struct {
	token      string
	secureOnly bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

func (b bearer) RequireTransportSecurity() bool { return b.secureOnly }

func (o *options) securityDialOptions() ([]grpc.DialOption, error) {
	var out []grpc.DialOption
	if o.tls {
		creds, err := o.transportCredentials()
		if err != nil {
			return nil, err
		}
		out = append(out, grpc.WithTransportCredentials(creds))
	} else if o.certFile != "" {
		return nil, fmt.Errorf("sigop: WithClientCertificate needs WithTLS")
	}
	if o.token != "" {
		out = append(out, grpc.WithPerRPCCredentials(bearer{token: o.token, secureOnly: o.tls}))
	}
	return out, nil
}
