// Package dial connects sigop's Go clients (operator, inference) the same
// way: TLS or mutual TLS, a bearer token, message limits, and a service
// config that balances round-robin over every address a target resolves to,
// skips replicas whose health service does not say SERVING and retries
// UNAVAILABLE on another.
package dial

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/health" // client-side health checking, used by the service config
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// Settings are what a client's options set.
type Settings struct {
	MaxMessageBytes int
	TLS             bool
	CAFile          string // PEM CA trusted for the server's certificate; empty: the system's roots
	CertFile        string // client certificate for mutual TLS
	KeyFile         string
	Token           string // sent as "authorization: Bearer <token>"
	DialOptions     []grpc.DialOption
}

// serviceConfig balances round-robin, checks each address's grpc.health.v1
// status under health[0] when given ("" is the server as a whole), and
// retries UNAVAILABLE on another address for every method of service. Only
// for idempotent services: a retry must never apply a request twice.
//
// gRPC buffers at most 256 KiB of a request for retries, so larger requests
// fail over only while not yet sent.
func serviceConfig(service string, health []string) string {
	check := ""
	if len(health) > 0 {
		check = fmt.Sprintf(`"healthCheckConfig": {"serviceName": %q},`, health[0])
	}
	return fmt.Sprintf(`{
  "loadBalancingConfig": [{"round_robin": {}}],
  %s
  "methodConfig": [{
    "name": [{"service": %q}],
    "retryPolicy": {
      "maxAttempts": 5,
      "initialBackoff": "0.05s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}`, check, service)
}

// NewClient creates a connection to target for the methods of service
// (plaintext unless TLS is set, or credentials come in DialOptions, which
// apply last and so win), health-checking each address under health[0] if
// given. Like grpc.NewClient it does not connect until the first call.
func (s Settings) NewClient(target, service string, health ...string) (*grpc.ClientConn, error) {
	security, err := s.security()
	if err != nil {
		return nil, err
	}
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(serviceConfig(service, health)),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(s.MaxMessageBytes), grpc.MaxCallSendMsgSize(s.MaxMessageBytes)),
	}, security...)
	if !s.TLS {
		opts = append(opts, grpc.WithChainUnaryInterceptor(hintUnary), grpc.WithChainStreamInterceptor(hintStream))
	}
	conn, err := grpc.NewClient(target, append(opts, s.DialOptions...)...)
	if err != nil {
		return nil, fmt.Errorf("sigop: dial %s: %w", target, err)
	}
	return conn, nil
}

var replicaSchemes atomic.Int64

// Replicas is a target resolving to addrs, and the dial option that resolves it.
func Replicas(addrs []string) (string, grpc.DialOption, error) {
	if len(addrs) == 0 {
		return "", nil, fmt.Errorf("sigop: DialReplicas needs at least one address")
	}
	r := manual.NewBuilderWithScheme(fmt.Sprintf("sigop-replicas-%d", replicaSchemes.Add(1)))
	state := resolver.State{}
	for _, a := range addrs {
		state.Addresses = append(state.Addresses, resolver.Address{Addr: a})
	}
	r.InitialState(state)
	return r.Scheme() + ":///replicas", grpc.WithResolvers(r), nil
}

func (s Settings) transportCredentials() (credentials.TransportCredentials, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("sigop: CA file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("sigop: %s holds no PEM certificate", s.CAFile)
		}
	}
	if s.CertFile != "" || s.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
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

func (s Settings) security() ([]grpc.DialOption, error) {
	var out []grpc.DialOption
	if s.TLS {
		creds, err := s.transportCredentials()
		if err != nil {
			return nil, err
		}
		out = append(out, grpc.WithTransportCredentials(creds))
	} else if s.CertFile != "" {
		return nil, fmt.Errorf("sigop: WithClientCertificate needs WithTLS")
	}
	if s.Token != "" {
		out = append(out, grpc.WithPerRPCCredentials(bearer{token: s.Token, secureOnly: s.TLS}))
	}
	return out, nil
}
