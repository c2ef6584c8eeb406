package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sigop-dev/sigop/go/operator"
)

// input is one signal to classify: its channels and the rate its file states (0: none).
type input struct {
	channels [][]float64
	rate     float64
}

// modelInput describes one input of the model, from the server's model
// list: the named model (or the server's only classifier) at the version
// asked for (0: the newest available). A model the list does not describe
// is taken as one channel; the call itself then says what is wrong.
func modelInput(ctx context.Context, c *operator.Client, model string, version int64) operator.ModelVersion {
	unknown := operator.ModelVersion{Channels: 1}
	models, err := c.Models(ctx, model)
	if err != nil {
		return unknown
	}
	var versions []operator.ModelVersion
	if model != "" {
		versions = models[model]
	} else {
		for _, vs := range models {
			if slices.ContainsFunc(vs, func(v operator.ModelVersion) bool { return v.Kind == "classifier" }) {
				if versions != nil {
					return unknown // several classifiers and none named: the server says so
				}
				versions = vs
			}
		}
	}
	for _, v := range versions { // newest first
		if v.Available && (version == 0 || v.Version == version) {
			v.Channels = max(1, v.Channels)
			return v
		}
	}
	return unknown
}

// rateless says whether the model has no rate of its own (a spectrum model
// draws signals by FFT bin; a waveform model trained without a declared rate
// takes samples as they come): a file's rate is not sent to it (evaluate and
// the server's own file reading drop it too), and is a stream's clock only.
func rateless(m operator.ModelVersion) bool {
	return m.InputForm == "spectrum" || (m.InputForm == "waveform" && m.SampleRate == 0)
}

// readForModel reads FILEs (or stdin) as a model of “channels“ takes
// them: several channels, each file one signal [channels, samples]; one
// channel, a file of signals (one per line or .npy row), unless a text file
// starts with a header, which makes it one signal of one column.
func readForModel(files []string, stdin io.Reader, channels int) ([]input, []string, error) {
	var out []input
	var names []string
	one := func(r recording, name string) error {
		if channels == 1 && len(r.channels) != 1 {
			return fmt.Errorf("%s holds %d channels (%s); the model takes one (train on several channels, or send one column)",
				name, len(r.channels), strings.Join(r.names, ", "))
		}
		out, names = append(out, input{r.channels, r.rate}), append(names, name)
		return nil
	}
	if len(files) == 0 {
		in, table := headed(stdin)
		if channels > 1 || table { // a table, as a logger writes it: one signal
			r, err := readTable(in, "stdin")
			if err != nil {
				return nil, nil, err
			}
			return out, names, one(r, "stdin")
		}
		rows, n, err := readSignals(in, "stdin")
		for i := range rows {
			out = append(out, input{channels: rows[i : i+1]})
		}
		return out, n, err
	}
	for _, name := range files {
		if channels > 1 || firstLineIsHeader(name) {
			r, err := readRecording(name, channels)
			if err != nil {
				return nil, nil, err
			}
			if err := one(r, name); err != nil {
				return nil, nil, err
			}
			continue
		}
		rows, n, err := readSignalFile(name)
		if err != nil {
			return nil, nil, err
		}
		for i := range rows {
			out = append(out, input{channels: rows[i : i+1]})
		}
		names = append(names, n...)
	}
	return out, names, nil
}

// byShape calls classify once per distinct shape and stated rate (a call
// carries signals of one shape at one rate) and returns the rankings in the
// signals' order, with the model and version that answered the last call.
// “rate“ (the --sample-rate flag) applies to signals whose file states none.
func byShape(signals []input, rate float64, classify func([][][]float64, float64) (*operator.Result, error)) (*operator.Result, error) {
	type key struct {
		channels, n int
		rate        float64
	}
	groups := map[key][]int{}
	var keys []key
	for i, s := range signals {
		r := rate
		if s.rate != 0 {
			if rate != 0 && rate != s.rate {
				return nil, fmt.Errorf("--sample-rate %g Hz, but signal %d's time column says %g Hz", rate, i, s.rate)
			}
			r = s.rate
		}
		k := key{len(s.channels), len(s.channels[0]), r}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	out := &operator.Result{Classes: make([][]operator.Class, len(signals))}
	for _, k := range keys {
		same := make([][][]float64, len(groups[k]))
		for j, i := range groups[k] {
			same[j] = signals[i].channels
		}
		r, err := classify(same, k.rate)
		if err != nil {
			return nil, fmt.Errorf("signals of %d samples: %w", k.n, err)
		}
		out.Model, out.Version = r.Model, r.Version
		if r.Unknown != nil && out.Unknown == nil {
			out.Unknown = make([]operator.Unknown, len(signals))
		}
		for j, i := range groups[k] {
			out.Classes[i] = r.Classes[j]
			if r.Unknown != nil {
				out.Unknown[i] = r.Unknown[j]
			}
		}
	}
	return out, nil
}

// headed reads stdin's first line and says whether it is a header (a table
// of one row per sample follows); the reader it returns starts with that line.
func headed(stdin io.Reader) (io.Reader, bool) {
	rest, t := firstLine(stdin)
	return rest, t != "" && header(splitFields(t, separatorOf(t)))
}

// firstLine reads stdin's first line, trimmed ("" if reading it failed: the
// read's error comes back from whoever reads on); the reader it returns
// starts with that line.
func firstLine(stdin io.Reader) (io.Reader, string) {
	in := bufio.NewReaderSize(stdin, 1<<16)
	first, err := in.ReadString('\n')
	rest := io.MultiReader(strings.NewReader(first), in)
	if err != nil && !errors.Is(err, io.EOF) {
		return rest, ""
	}
	return rest, strings.TrimSpace(first)
}
