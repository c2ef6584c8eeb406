package main

import (
	"context"
	"flag"

	"github.com/sigop-dev/sigop/go/classify"
	"github.com/sigop-dev/sigop/go/edge"
	"github.com/sigop-dev/sigop/go/operator"
)

// targetFlags say where a command's signals are classified: by a server
// (--addr and its security flags), or here, by the model folder --model-dir
// names (package edge: no server).
type targetFlags struct {
	connFlags
	modelDir string
}

func (f *targetFlags) registerDir(fs *flag.FlagSet) {
	fs.StringVar(&f.modelDir, "model-dir", "", "classify here, in Go, with this exported model folder (MiniRocket; no server, --addr unused)")
}

// open returns the classifier, what its model takes (as the server's
// ListModels says it), and how to close it.
func (f *targetFlags) open(ctx context.Context, model string, version int64) (classify.Classifier, operator.ModelVersion, func(), error) {
	if f.modelDir != "" {
		m, err := edge.Open(f.modelDir)
		if err != nil {
			return nil, operator.ModelVersion{}, nil, err
		}
		i := m.Info()
		return m, operator.ModelVersion{Version: i.Version, Available: true, Kind: "classifier", Runtime: "edge",
			Labels: i.Labels, InputForm: "waveform", Channels: i.Channels, ChannelNames: i.ChannelNames,
			SampleRate: i.SampleRate, Samples: int64(i.Samples)}, func() {}, nil
	}
	c, err := f.dial()
	if err != nil {
		return nil, operator.ModelVersion{}, nil, err
	}
	return c, modelInput(ctx, c, model, version), func() { c.Close() }, nil
}
