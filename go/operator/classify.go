package operator

import (
	"context"
	"fmt"
	"math"

	operatorv1 "github.com/sigop-dev/sigop/go/gen/sigop/operator/v1"
)

// Classify ranks the labels for one PNG or JPEG image, within the client's
// default timeout.
func (c *Client) Classify(image []byte) ([]Class, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	return c.ClassifyContext(ctx, image)
}

// ClassifyContext ranks the labels for one PNG or JPEG image.
func (c *Client) ClassifyContext(ctx context.Context, image []byte) ([]Class, error) {
	out, err := c.ClassifyBatchContext(ctx, [][]byte{image})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// ClassifyBatchContext ranks the labels for each image, in one call.
func (c *Client) ClassifyBatchContext(ctx context.Context, images [][]byte) ([][]Class, error) {
	resp, err := c.stub.Classify(ctx, &operatorv1.ClassifyRequest{
		ModelSpec: &operatorv1.ModelSpec{Name: c.classifier},
		Images:    images,
		TopK:      int32(c.topK),
	})
	if err != nil {
		return nil, fmt.Errorf("sigop: Classify: %w", err)
	}
	return classes(resp.GetClassifications(), len(images))
}

// ClassifySignal classifies one signal, within the client's default timeout.
func (c *Client) ClassifySignal(signal []float64) ([]Class, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	return c.ClassifySignalContext(ctx, signal)
}

// ClassifySignalContext classifies one time-domain signal. With a spectrum
// classifier (the article's) the server takes its FFT with the frozen graph
// and renders it with the model's spectrum contract, exactly as the training
// data was drawn; a waveform classifier takes it at its own sample rate (see
// ClassifySignalsAtRateContext for other rates).
func (c *Client) ClassifySignalContext(ctx context.Context, signal []float64) ([]Class, error) {
	out, err := c.classifySignals(ctx, [][]float64{signal}, true)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// ClassifySignalBatchContext classifies equal-length signals in one call.
func (c *Client) ClassifySignalBatchContext(ctx context.Context, signals [][]float64) ([][]Class, error) {
	return c.classifySignals(ctx, signals, false)
}

func (c *Client) classifySignals(ctx context.Context, signals [][]float64, oneD bool) ([][]Class, error) {
	return c.classifySignalsAt(ctx, signals, oneD, 0)
}

func (c *Client) classifySignalsAt(ctx context.Context, signals [][]float64, oneD bool, sampleRate float64) ([][]Class, error) {
	tensor, _, err := signalsTensor(signals, oneD)
	if err != nil {
		return nil, fmt.Errorf("sigop: ClassifySignal: %w", err)
	}
	resp, err := c.stub.ClassifySignal(ctx, &operatorv1.ClassifySignalRequest{
		ModelSpec:  &operatorv1.ModelSpec{Name: c.classifier},
		Signals:    tensor,
		TopK:       int32(c.topK),
		SampleRate: sampleRate,
	})
	if err != nil {
		return nil, fmt.Errorf("sigop: ClassifySignal: %w", err)
	}
	return classes(resp.GetClassifications(), len(signals))
}

func classes(in []*operatorv1.Classification, want int) ([][]Class, error) {
	if len(in) != want {
		return nil, fmt.Errorf("sigop: response has %d classifications for %d inputs", len(in), want)
	}
	out := make([][]Class, len(in))
	for i, cl := range in {
		out[i] = classesOf(cl)
	}
	return out, nil
}

// classesOf is one input's classes, best first, as the server sent them.
func classesOf(cl *operatorv1.Classification) []Class {
	var out []Class
	for _, c := range cl.GetClasses() {
		out = append(out, Class{Label: c.GetLabel(), Score: c.GetScore()})
	}
	return out
}

// ClassifySignalsAtRateContext classifies equal-length signals sampled at
// sampleRate Hz with a waveform classifier, which resamples them to its own
// rate. A sampleRate of 0 means the model's own rate.
func (c *Client) ClassifySignalsAtRateContext(ctx context.Context, signals [][]float64, sampleRate float64) ([][]Class, error) {
	if sampleRate < 0 || math.IsNaN(sampleRate) || math.IsInf(sampleRate, 0) {
		return nil, fmt.Errorf("sigop: ClassifySignal: sample rate %g Hz; expected 0 (the model's own) or a rate > 0", sampleRate)
	}
	return c.classifySignalsAt(ctx, signals, false, sampleRate)
}
