package operator

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"

	operatorv1 "github.com/sigop-dev/sigop/go/gen/sigop/operator/v1"
	"github.com/sigop-dev/sigop/go/internal/dial"
)

// DefaultMaxMessageBytes matches the server's default limit: a 2^20-point
// complex spectrum does not fit gRPC's own 4 MiB default.
const DefaultMaxMessageBytes = 64 << 20

// DefaultTimeout bounds calls made without a context (the article's FFT).
const DefaultTimeout = 30 * time.Second

// Client is an Operator served by a sigop server over gRPC. It is safe for
// concurrent use; one Client per server (or per set of replicas) suffices.
type Client struct {
	conn       *grpc.ClientConn
	stub       operatorv1.OperatorClient
	timeout    time.Duration
	fftModel   string
	classifier string
	topK       int
	shm        *sharedMemory // nil: every call over the wire
}

type options struct {
	dial.Settings
	timeout         time.Duration
	fftModel        string
	classifier      string
	topK            int
	sharedMemoryDir string
}

// Option configures Dial.
type Option func(*options)

// WithTimeout sets the deadline of FFT, the one call made without a context (default 30s).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithMaxMessageBytes sets the largest message sent or received (default 64 MiB);
// keep it equal to the server's --max-message-mib.
func WithMaxMessageBytes(n int) Option { return func(o *options) { o.MaxMessageBytes = n } }

// WithFFTModel names the server's FFT model (default "fft").
func WithFFTModel(name string) Option { return func(o *options) { o.fftModel = name } }

// WithClassifier names the classifier calls use unless they say otherwise
// (Model); empty (the default) works when the server has exactly one.
func WithClassifier(name string) Option { return func(o *options) { o.classifier = name } }

// WithTopK limits classifications to the k best labels unless a call says
// otherwise (TopK); default 0: all.
func WithTopK(k int) Option { return func(o *options) { o.topK = k } }

// WithSharedMemory has calls that carry signals (FFT, Magnitudes, Spectra,
// ClassifySignals, ClassifyMultichannel) write them, and read the FFT's
// spectra, in files under /dev/shm (mapped here, read and written by the
// server with system calls), instead of sending
// them through gRPC: for a server on the same host started with
// `sigop serve --allow-shared-memory`. Results are the same as over the wire,
// where calls go when the server is elsewhere, refuses, or the OS is not
// Linux; Client.SharedMemory says which. Meant for one server: behind a
// balanced target, a call answered by a replica that does not hold the
// region is made again over the wire.
func WithSharedMemory() Option { return WithSharedMemoryDir(DefaultSharedMemoryDir) }

// WithSharedMemoryDir is WithSharedMemory with the files in dir (the
// server's --shared-memory-dir).
func WithSharedMemoryDir(dir string) Option { return func(o *options) { o.sharedMemoryDir = dir } }

// WithDialOptions adds gRPC dial options, e.g. transport credentials; they
// apply after sigop's own, so they win.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.DialOptions = append(o.DialOptions, opts...) }
}

// Dial creates a Client for target (host:port, or any gRPC target such as
// dns:///name:port, whose addresses it balances over round-robin, skipping
// replicas that are not SERVING and retrying UNAVAILABLE on another). Like
// grpc.NewClient it does not connect until the first call. Without WithTLS (or credentials in WithDialOptions) the connection is
// plaintext.
func Dial(target string, opts ...Option) (*Client, error) {
	o := options{timeout: DefaultTimeout, Settings: dial.Settings{MaxMessageBytes: DefaultMaxMessageBytes}, fftModel: "fft"}
	for _, opt := range opts {
		opt(&o)
	}
	conn, err := o.NewClient(target, operatorService, operatorService)
	if err != nil {
		return nil, err
	}
	c := &Client{
		conn: conn, stub: operatorv1.NewOperatorClient(conn),
		timeout: o.timeout, fftModel: o.fftModel, classifier: o.classifier, topK: o.topK,
	}
	if o.sharedMemoryDir != "" {
		c.shm = &sharedMemory{dir: o.sharedMemoryDir, stub: c.stub}
	}
	return c, nil
}

// Close unregisters the client's shared-memory regions and closes the connection.
func (c *Client) Close() error {
	if c.shm != nil {
		c.shm.close()
	}
	return c.conn.Close()
}

// Conn is the underlying connection, for other services on the same server
// (health, reflection).
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// FFT returns the magnitude spectrum |X[k]|, k = 0 .. len(input)/2, within
// the client's default timeout: the article's Operator.
func (c *Client) FFT(input []float64) ([]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	rows, err := c.fft(ctx, [][]float64{input}, true, operatorv1.Spectrum_SPECTRUM_MAGNITUDE)
	if err != nil {
		return nil, err
	}
	return rows.magnitude[0], nil
}

// Magnitudes returns the magnitude spectra |X[k]| of equal-length signals in one call.
func (c *Client) Magnitudes(ctx context.Context, signals [][]float64) ([][]float64, error) {
	rows, err := c.fft(ctx, signals, false, operatorv1.Spectrum_SPECTRUM_MAGNITUDE)
	if err != nil {
		return nil, err
	}
	return rows.magnitude, nil
}

// Spectra returns the complex spectra X[k] of equal-length signals in one call.
func (c *Client) Spectra(ctx context.Context, signals [][]float64) ([][]complex128, error) {
	rows, err := c.fft(ctx, signals, false, operatorv1.Spectrum_SPECTRUM_COMPLEX)
	if err != nil {
		return nil, err
	}
	out := make([][]complex128, len(rows.real))
	for i, re := range rows.real {
		im := rows.imag[i]
		out[i] = make([]complex128, len(re))
		for k := range re {
			out[i][k] = complex(re[k], im[k])
		}
	}
	return out, nil
}

type spectra struct{ magnitude, real, imag [][]float64 }

func (c *Client) fft(ctx context.Context, inputs [][]float64, oneD bool, want operatorv1.Spectrum) (spectra, error) {
	var out spectra
	shape, n, err := signalRows(inputs, oneD)
	if err != nil {
		return out, fmt.Errorf("sigop: FFT: %w", err)
	}
	rows, cols := len(inputs), n/2+1
	parts := 1
	if want == operatorv1.Spectrum_SPECTRUM_COMPLEX {
		parts = 2
	}
	in, answer := 8*rows*n, 8*rows*cols*parts
	var shared *mapping
	resp, err := withRegion(ctx, c.shm, in+answer, func(m *mapping) (*operatorv1.FFTResponse, error) {
		request := &operatorv1.FFTRequest{ModelSpec: &operatorv1.ModelSpec{Name: c.fftModel}, Spectra: []operatorv1.Spectrum{want}}
		if shared = m; m == nil {
			request.Signals = encodeSignals(inputs, shape)
		} else {
			request.Signals = sharedTensor(m, inputs, shape)
			request.Output = &operatorv1.SharedMemoryRef{Region: m.key, Offset: uint64(in), ByteSize: uint64(answer)}
		}
		return c.stub.FFT(ctx, request)
	}, func(m *mapping, resp *operatorv1.FFTResponse) error { // read the spectra before the region is reused
		var err error
		out, err = readSpectra(resp, want, func(t *operatorv1.Float64Tensor) ([][]float64, error) { return sharedRows(m, t, rows, cols) })
		return err
	})
	switch {
	case err != nil:
		return out, fmt.Errorf("sigop: FFT: %w", err)
	case shared != nil:
		return out, nil
	}
	return readSpectra(resp, want, func(t *operatorv1.Float64Tensor) ([][]float64, error) { return wireRows(t, rows, cols) })
}

// readSpectra takes the parts asked for out of a reply, with read (from the
// message, or from the call's shared-memory region).
func readSpectra(resp *operatorv1.FFTResponse, want operatorv1.Spectrum, read func(*operatorv1.Float64Tensor) ([][]float64, error)) (spectra, error) {
	var out spectra
	var err error
	if want == operatorv1.Spectrum_SPECTRUM_MAGNITUDE {
		out.magnitude, err = read(resp.GetMagnitude())
	} else if out.real, err = read(resp.GetReal()); err == nil {
		out.imag, err = read(resp.GetImag())
	}
	return out, err
}
