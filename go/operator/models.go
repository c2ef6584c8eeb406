package operator

import (
	"context"
	"encoding/json"
	"fmt"

	operatorv1 "github.com/sigop-dev/sigop/go/gen/sigop/operator/v1"
)

// ModelVersion describes one version of a served model.
type ModelVersion struct {
	Version   int64    `json:"version"`
	Available bool     `json:"available"`         // loaded and warmed up; false: its files did not load
	Message   string   `json:"message,omitempty"` // why it failed, why newer files were rejected, why it is not on LiteRT
	Kind      string   `json:"kind,omitempty"`    // "fft" or "classifier"
	Runtime   string   `json:"runtime,omitempty"` // "tensorflow", "litert float32" or "litert int8"
	Labels    []string `json:"labels,omitempty"`
	// InputForm is what one input is, the same for every recipe:
	// "waveform" (signals at SampleRate), "spectrum" (signals drawn as
	// spectrum images by FFT bin: no rate of its own) or "images"; empty for
	// the FFT.
	InputForm string `json:"input_form,omitempty"`
	// Channels is how many channels one signal has (1 unless the model was
	// trained on several sensor axes: send those with ClassifyMultichannel
	// and Stream.SendMultichannel); 0 for models that take no signals.
	Channels     int      `json:"channels,omitempty"`
	ChannelNames []string `json:"channel_names,omitempty"` // as its training data named them, if it did
	// SampleRate is the rate in Hz a waveform model takes; 0 for a model
	// without one: a spectrum model, or a waveform model trained on signals of
	// no declared rate (send those at rate 0; give a stream's rate with
	// SampleRate for its times in seconds).
	SampleRate float64 `json:"sample_rate,omitempty"`
	Samples    int64   `json:"samples,omitempty"` // samples of one model input at SampleRate
	// UnknownScore describes the model's unknown score; nil for a model
	// exported without one.
	UnknownScore *UnknownScore `json:"unknown_score,omitempty"`
	Manifest     string        `json:"-"` // the version's manifest.json
}

// UnknownScore is how a model computes its unknown score and where its
// threshold lies (manifest details.unknown).
type UnknownScore struct {
	Method    string  `json:"method"`    // "logit_mahalanobis", "max_softmax" (a network), or "residual" (one-class)
	Threshold float64 `json:"threshold"` // above it, an input is unknown
	Rate      float64 `json:"rate"`      // the share of known files the threshold was set to call unknown
}

type manifestDetails struct {
	Details struct {
		Unknown *UnknownScore `json:"unknown"`
	} `json:"details"`
}

// unknownScoreOf reads a classifier's unknown score from its manifest.
func unknownScoreOf(manifest string) *UnknownScore {
	var m manifestDetails
	if json.Unmarshal([]byte(manifest), &m) != nil {
		return nil
	}
	return m.Details.Unknown
}

// Models lists the server's models and their versions, newest first; name
// empty lists all of them.
func (c *Client) Models(ctx context.Context, name string) (map[string][]ModelVersion, error) {
	resp, err := c.stub.ListModels(ctx, &operatorv1.ListModelsRequest{Name: name})
	if err != nil {
		return nil, fmt.Errorf("sigop: ListModels: %w", err)
	}
	out := make(map[string][]ModelVersion, len(resp.GetModels()))
	for _, m := range resp.GetModels() {
		for _, v := range m.GetVersions() {
			out[m.GetName()] = append(out[m.GetName()], ModelVersion{
				Version: v.GetVersion(), Available: v.GetState() == operatorv1.ModelState_MODEL_STATE_AVAILABLE,
				Message: v.GetMessage(), Kind: v.GetKind(), Runtime: v.GetRuntime(), Labels: v.GetLabels(),
				InputForm: v.GetInputForm(), Channels: int(v.GetChannels()), ChannelNames: v.GetChannelNames(),
				SampleRate: v.GetSampleRate(), Samples: v.GetSamples(), UnknownScore: unknownScoreOf(v.GetManifestJson()),
				Manifest: v.GetManifestJson(),
			})
		}
	}
	return out, nil
}
