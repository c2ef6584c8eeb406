package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/sigop-dev/sigop/go/edge"
	"github.com/sigop-dev/sigop/go/operator"
)

func runModels(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("models", flag.ContinueOnError)
	var conn connFlags
	conn.register(fs, 30*time.Second)
	asJSON := fs.Bool("json", false, "print one JSON object: {name: [versions, newest first]}, each with runs_in_go")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sigop-client models [flags] [NAME]\n\nLists the server's models (or NAME's versions): name, version, kind, runtime, state, labels (and a model of several channels: how many, and their names), and for a classifier whether it also runs in Go on a device (sigop-client --model-dir, package edge) or on the server only.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := conn.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), conn.timeout)
	defer cancel()
	models, err := c.Models(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	if *asJSON { // each version as ListModels says, and whether it also runs in Go on a device
		type version struct {
			operator.ModelVersion
			RunsInGo bool `json:"runs_in_go"`
		}
		out := map[string][]version{}
		for name, vs := range models {
			for _, v := range vs {
				out[name] = append(out[name], version{v, v.Kind == "classifier" && edge.Check([]byte(v.Manifest)) == nil})
			}
		}
		return json.NewEncoder(w).Encode(out)
	}
	names := make([]string, 0, len(models))
	for name := range models {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, v := range models[name] {
			state := "AVAILABLE"
			if !v.Available {
				state = "FAILED: " + v.Message
			}
			channels := inputOf(v)
			if v.Channels > 1 { // a model of several channels says which, after its labels
				channels = fmt.Sprintf("\t%d channels", v.Channels)
				if len(v.ChannelNames) > 0 {
					channels += ": " + strings.Join(v.ChannelNames, ",")
				}
			}
			if u := v.UnknownScore; u != nil { // then where its unknown score calls an input unknown
				channels += fmt.Sprintf("\tunknown above %.4g (%s, %g %% of known files)", u.Threshold, u.Method, 100*u.Rate)
			}
			if v.Kind == "classifier" { // and whether it also runs on a device, in Go (--model-dir, package edge)
				channels += "\t" + edgeColumn(v.Manifest)
			}
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s%s\n", name, v.Version, v.Kind, v.Runtime, state, strings.Join(v.Labels, ","), channels)
		}
	}
	return nil
}

// edgeColumn says whether a model runs in Go on a device (package edge),
// from its manifest.
func edgeColumn(manifest string) string {
	if edge.Check([]byte(manifest)) == nil {
		return "runs in Go (edge)"
	}
	return "server only"
}

// inputOf is what one input of a classifier is: its form, rate and window.
func inputOf(v operator.ModelVersion) string {
	switch v.InputForm {
	case "waveform":
		return fmt.Sprintf("\twaveform at %g Hz, %d samples", v.SampleRate, v.Samples)
	case "spectrum":
		return fmt.Sprintf("\tspectrum by FFT bin (no rate), %d samples", v.Samples)
	case "images":
		return "\timages"
	}
	return ""
}
