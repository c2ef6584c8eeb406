package inference

import (
	"context"
	"time"

	"google.golang.org/grpc"

	inferencepb "github.com/sigop-dev/sigop/go/gen/inference"
	"github.com/sigop-dev/sigop/go/internal/dial"
)

// Service is the protocol's gRPC service name.
const Service = "inference.GRPCInferenceService"

// DefaultMaxMessageBytes matches sigop serve's default message limit.
const DefaultMaxMessageBytes = 64 << 20

// DefaultTimeout bounds each call whose context has no deadline.
const DefaultTimeout = 30 * time.Second

// Client calls one Open Inference Protocol server, or balances over
// replicas. It is safe for concurrent use.
type Client struct {
	conn    *grpc.ClientConn
	stub    inferencepb.GRPCInferenceServiceClient
	timeout time.Duration
}

type options struct {
	dial.Settings
	timeout time.Duration
	health  []string
}

// Option configures Dial.
type Option func(*options)

// WithTimeout bounds each call whose context has no deadline (default 30 s; 0: no bound).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithMaxMessageBytes sets the largest message sent or received (default 64 MiB).
func WithMaxMessageBytes(n int) Option { return func(o *options) { o.MaxMessageBytes = n } }

// WithTLS connects over TLS, trusting server certificates signed by the PEM
// CA in caFile (empty: the system's roots).
func WithTLS(caFile string) Option { return func(o *options) { o.TLS, o.CAFile = true, caFile } }

// WithClientCertificate presents this PEM certificate and key (mutual TLS; needs WithTLS).
func WithClientCertificate(certFile, keyFile string) Option {
	return func(o *options) { o.CertFile, o.KeyFile = certFile, keyFile }
}

// WithToken sends "authorization: Bearer <token>" on every call.
func WithToken(token string) Option { return func(o *options) { o.Token = token } }

// WithHealthCheck has a balanced Client skip addresses whose grpc.health.v1
// status for service ("": the server as a whole) is not SERVING: replicas
// still warming up or draining. Use it with servers that serve that health
// service (sigop, Triton); the protocol itself does not require one
// (MLServer has none), so it is off by default, and UNAVAILABLE is retried
// on another address either way.
func WithHealthCheck(service string) Option { return func(o *options) { o.health = []string{service} } }

// WithDialOptions adds gRPC dial options; they apply last, so they win.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.DialOptions = append(o.DialOptions, opts...) }
}

// Dial creates a Client for target (host:port, or a gRPC target such as
// dns:///name:port, balanced round-robin over its addresses, retrying
// UNAVAILABLE on another; see WithHealthCheck). It does not connect until
// the first call; plaintext unless WithTLS.
func Dial(target string, opts ...Option) (*Client, error) {
	o := options{Settings: dial.Settings{MaxMessageBytes: DefaultMaxMessageBytes}, timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	conn, err := o.NewClient(target, Service, o.health...)
	if err != nil {
		return nil, err
	}
	return &Client{conn: conn, stub: inferencepb.NewGRPCInferenceServiceClient(conn), timeout: o.timeout}, nil
}

// DialReplicas creates a Client balancing over several servers that serve the same models.
func DialReplicas(addrs []string, opts ...Option) (*Client, error) {
	target, resolve, err := dial.Replicas(addrs)
	if err != nil {
		return nil, err
	}
	return Dial(target, append([]Option{WithDialOptions(resolve)}, opts...)...)
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Conn is the underlying connection, for other services on the same server.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

func (c *Client) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || c.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}

// ServerLive says whether the server is up (it may still be loading models).
func (c *Client) ServerLive(ctx context.Context) (bool, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	r, err := c.stub.ServerLive(ctx, &inferencepb.ServerLiveRequest{})
	return r.GetLive(), err
}

// ServerReady says whether the server takes inference requests.
func (c *Client) ServerReady(ctx context.Context) (bool, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	r, err := c.stub.ServerReady(ctx, &inferencepb.ServerReadyRequest{})
	return r.GetReady(), err
}

// ModelReady says whether a model (at version; "": the server's choice) takes requests.
func (c *Client) ModelReady(ctx context.Context, model, version string) (bool, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	r, err := c.stub.ModelReady(ctx, &inferencepb.ModelReadyRequest{Name: model, Version: version})
	return r.GetReady(), err
}

// ServerMetadata is who the server is and which protocol extensions it has.
type ServerMetadata struct {
	Name, Version string
	Extensions    []string
}

// ServerMetadata asks the server who it is.
func (c *Client) ServerMetadata(ctx context.Context) (ServerMetadata, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	r, err := c.stub.ServerMetadata(ctx, &inferencepb.ServerMetadataRequest{})
	if err != nil {
		return ServerMetadata{}, err
	}
	return ServerMetadata{Name: r.Name, Version: r.Version, Extensions: r.Extensions}, nil
}

// TensorMetadata is one input or output a model declares; -1 in Shape: any size.
type TensorMetadata struct {
	Name, Datatype string
	Shape          []int64
}

// ModelMetadata is what a model takes and gives.
type ModelMetadata struct {
	Name       string
	Versions   []string
	Platform   string
	Inputs     []TensorMetadata
	Outputs    []TensorMetadata
	Properties map[string]string
}

// ModelMetadata asks what a model (at version; "": the server's choice) takes and gives.
func (c *Client) ModelMetadata(ctx context.Context, model, version string) (ModelMetadata, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	r, err := c.stub.ModelMetadata(ctx, &inferencepb.ModelMetadataRequest{Name: model, Version: version})
	if err != nil {
		return ModelMetadata{}, err
	}
	m := ModelMetadata{Name: r.Name, Versions: r.Versions, Platform: r.Platform, Properties: r.Properties}
	for _, t := range r.Inputs {
		m.Inputs = append(m.Inputs, TensorMetadata{t.Name, t.Datatype, t.Shape})
	}
	for _, t := range r.Outputs {
		m.Outputs = append(m.Outputs, TensorMetadata{t.Name, t.Datatype, t.Shape})
	}
	return m, nil
}
