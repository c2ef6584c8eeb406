package operator

import (
	"context"
	"fmt"

	operatorv1 "github.com/sigop-dev/sigop/go/gen/sigop/operator/v1"
)

// ClassifyImages ranks the labels for each PNG or JPEG image, in one call.
func (c *Client) ClassifyImages(ctx context.Context, images [][]byte, opts ...CallOption) (*Result, error) {
	o, err := c.resolve(opts)
	if err != nil {
		return nil, fmt.Errorf("sigop: Classify: %w", err)
	}
	resp, err := c.stub.Classify(ctx, &operatorv1.ClassifyRequest{ModelSpec: o.spec(), Images: images, TopK: int32(o.TopK)})
	if err != nil {
		return nil, fmt.Errorf("sigop: Classify: %w", err)
	}
	return result(resp.GetModelSpec(), resp.GetClassifications(), len(images))
}

// ClassifySignals classifies equal-length time-domain signals in one call.
// A spectrum classifier (the article's) has the server take each signal's
// FFT with the frozen graph and draw it with the model's spectrum contract,
// exactly as its training data was drawn; a waveform classifier takes them
// at SampleRate (default: its own rate), resampled, padded or cut to its
// length.
func (c *Client) ClassifySignals(ctx context.Context, signals [][]float64, opts ...CallOption) (*Result, error) {
	o, err := c.resolve(opts)
	if err != nil {
		return nil, fmt.Errorf("sigop: ClassifySignal: %w", err)
	}
	shape, _, err := signalRows(signals, false)
	return c.classifySignal(ctx, o, signals, shape, len(signals), err)
}

// classifySignal makes a ClassifySignal call of n signals from rows of the
// given shape (or returns the error shaping them gave), through shared
// memory when the client has a region for it.
func (c *Client) classifySignal(ctx context.Context, o call, rows [][]float64, shape []int64, n int, err error) (*Result, error) {
	if err != nil {
		return nil, fmt.Errorf("sigop: ClassifySignal: %w", err)
	}
	request := &operatorv1.ClassifySignalRequest{ModelSpec: o.spec(), TopK: int32(o.TopK), SampleRate: o.SampleRate}
	resp, err := withRegion(ctx, c.shm, 8*values(rows), func(m *mapping) (*operatorv1.ClassifySignalResponse, error) {
		if m == nil {
			request.Signals = encodeSignals(rows, shape)
		} else {
			request.Signals = sharedTensor(m, rows, shape)
		}
		return c.stub.ClassifySignal(ctx, request)
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("sigop: ClassifySignal: %w", err)
	}
	return result(resp.GetModelSpec(), resp.GetClassifications(), n)
}

// ClassifyMultichannel classifies signals of several channels (a three-axis
// accelerometer's x, y and z; an IMU's six axes; three phase currents) with
// a model trained on them, in one call: signals[i][c] is channel c of
// signal i, every channel of every signal the same length. The server
// checks the channel count against the model's and answers InvalidArgument,
// naming both, when they differ; rate and length are handled per channel
// as ClassifySignals does.
func (c *Client) ClassifyMultichannel(ctx context.Context, signals [][][]float64, opts ...CallOption) (*Result, error) {
	o, err := c.resolve(opts)
	if err != nil {
		return nil, fmt.Errorf("sigop: ClassifySignal: %w", err)
	}
	rows, shape, err := multichannelRows(signals)
	return c.classifySignal(ctx, o, rows, shape, len(signals), err)
}

// ClassifyAudio classifies sound files (WAV, FLAC or OGG bytes, any sample
// rate, mono or several channels) with a waveform classifier, in one call:
// the server decodes each, averages its channels (a model of several
// channels takes files of its own count instead), resamples it to the
// model's rate and pads or cuts it to the model's length; the model's front
// end (log-mel, MFCC, power spectrum) runs inside its graph.
func (c *Client) ClassifyAudio(ctx context.Context, files [][]byte, opts ...CallOption) (*Result, error) {
	o, err := c.resolve(opts)
	if err != nil {
		return nil, fmt.Errorf("sigop: ClassifyAudio: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("sigop: ClassifyAudio: no sound files given")
	}
	resp, err := c.stub.ClassifyAudio(ctx, &operatorv1.ClassifyAudioRequest{ModelSpec: o.spec(), Audio: files, TopK: int32(o.TopK)})
	if err != nil {
		return nil, fmt.Errorf("sigop: ClassifyAudio: %w", err)
	}
	return result(resp.GetModelSpec(), resp.GetClassifications(), len(files))
}

func result(spec *operatorv1.ModelSpec, in []*operatorv1.Classification, want int) (*Result, error) {
	if len(in) != want {
		return nil, fmt.Errorf("sigop: response has %d classifications for %d inputs", len(in), want)
	}
	out := &Result{Model: spec.GetName(), Version: spec.GetVersion(), Classes: make([][]Class, len(in))}
	for i, cl := range in {
		out.Classes[i] = classesOf(cl)
		if u := unknownOf(cl); u != nil {
			if out.Unknown == nil {
				out.Unknown = make([]Unknown, len(in))
			}
			out.Unknown[i] = *u
		}
	}
	return out, nil
}

// unknownOf is one input's unknown score, or nil when the model has none.
func unknownOf(cl *operatorv1.Classification) *Unknown {
	if cl.UnknownScore == nil {
		return nil
	}
	return &Unknown{Score: cl.GetUnknownScore(), Unknown: cl.GetUnknown()}
}

// classesOf is one input's classes, best first, as the server sent them.
func classesOf(cl *operatorv1.Classification) []Class {
	var out []Class
	for _, c := range cl.GetClasses() {
		out = append(out, Class{Label: c.GetLabel(), Score: c.GetScore()})
	}
	return out
}
