package operator

// WithTLS connects over TLS, trusting the server certificates signed by the
// PEM CA in caFile (empty: the system's roots). For mutual TLS also pass
// WithClientCertificate.
func WithTLS(caFile string) Option {
	return func(o *options) {
		o.TLS = true
		o.CAFile = caFile
	}
}

// WithClientCertificate presents this PEM certificate and key to a server
// that requires client certificates (sigop serve --tls-client-ca).
func WithClientCertificate(certFile, keyFile string) Option {
	return func(o *options) { o.CertFile, o.KeyFile = certFile, keyFile }
}

// WithToken sends "authorization: Bearer <token>" on every call (sigop serve
// --token-file). Prefer it with WithTLS: over plaintext the token is readable
// by anyone on the path.
func WithToken(token string) Option { return func(o *options) { o.Token = token } }
