package operator

import (
	"context"
	"fmt"

	operatorv1 "github.com/sigop-dev/sigop/go/gen/sigop/operator/v1"
)

// ClassifyAudio classifies one sound file (WAV, FLAC or OGG bytes, any
// sample rate, mono or several channels) with a waveform classifier, within
// the client's default timeout.
func (c *Client) ClassifyAudio(audio []byte) ([]Class, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	return c.ClassifyAudioContext(ctx, audio)
}

// ClassifyAudioContext classifies one sound file: the server decodes it,
// averages its channels, resamples it to the model's rate and pads or
// truncates it to the model's length; the model's front end (log-mel, MFCC,
// power spectrum) runs inside its graph.
func (c *Client) ClassifyAudioContext(ctx context.Context, audio []byte) ([]Class, error) {
	out, err := c.ClassifyAudioBatchContext(ctx, [][]byte{audio})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// ClassifyAudioBatchContext classifies sound files in one call; they may
// differ in format, rate and length.
func (c *Client) ClassifyAudioBatchContext(ctx context.Context, files [][]byte) ([][]Class, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("sigop: ClassifyAudio: no sound files given")
	}
	resp, err := c.stub.ClassifyAudio(ctx, &operatorv1.ClassifyAudioRequest{
		ModelSpec: &operatorv1.ModelSpec{Name: c.classifier},
		Audio:     files,
		TopK:      int32(c.topK),
	})
	if err != nil {
		return nil, fmt.Errorf("sigop: ClassifyAudio: %w", err)
	}
	return classes(resp.GetClassifications(), len(files))
}
