package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sigop-dev/sigop/go/operator"
)

// connFlags are the flags of every command that calls a server: where it is,
// how to trust it and prove who we are, and how long to wait.
type connFlags struct {
	addr, tlsCA, tlsCert, tlsKey, tokenFile string
	tls, sharedMemory                       bool
	timeout                                 time.Duration
}

func (f *connFlags) register(fs *flag.FlagSet, timeout time.Duration) {
	fs.StringVar(&f.addr, "addr", "127.0.0.1:50051", "sigop server address (any gRPC target)")
	fs.BoolVar(&f.tls, "tls", false, "connect over TLS, trusting the system's roots (or --tls-ca)")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "PEM CA that signed the server's certificate (implies --tls)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "PEM client certificate, for servers that require one (mutual TLS)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "PEM key of --tls-cert")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the server's bearer token (a file, so it never shows in ps)")
	fs.DurationVar(&f.timeout, "timeout", timeout, "deadline of the call")
	fs.BoolVar(&f.sharedMemory, "shared-memory", false, "pass signals and spectra through /dev/shm to a server on this host started with --allow-shared-memory (else over the wire)")
}

// dial connects with the flags' security settings, then opts.
func (f *connFlags) dial(opts ...operator.Option) (*operator.Client, error) {
	var sec []operator.Option
	if f.tls || f.tlsCA != "" {
		sec = append(sec, operator.WithTLS(f.tlsCA))
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return nil, fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if f.tlsCert != "" {
		sec = append(sec, operator.WithClientCertificate(f.tlsCert, f.tlsKey))
	}
	if f.tokenFile != "" {
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return nil, err
		}
		token := strings.TrimSpace(string(b))
		if token == "" {
			return nil, fmt.Errorf("token file %s is empty", f.tokenFile)
		}
		sec = append(sec, operator.WithToken(token))
	}
	if !f.sharedMemory {
		return operator.Dial(f.addr, append(sec, opts...)...)
	}
	c, err := operator.Dial(f.addr, append(append(sec, operator.WithSharedMemory()), opts...)...)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	if err := c.SharedMemory(ctx); err != nil { // the calls still work, over the wire: say so once
		fmt.Fprintf(os.Stderr, "sigop-client: %v; calls go over the wire\n", err)
	}
	return c, nil
}
