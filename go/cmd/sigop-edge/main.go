// Command sigop-edge watches a device's samples on the device: it reads
// them from stdin as they arrive, one line per sample (channels separated
// by commas or spaces), classifies each window with an exported MiniRocket
// model in pure Go (package edge: no server, no gRPC, no cgo) and prints
// each label change as a JSON line. It is small enough for a gateway or a
// Raspberry Pi, and cross-compiles with CGO_ENABLED=0:
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -trimpath -ldflags=-s -w ./cmd/sigop-edge
//	sensor | sigop-edge -model models/pump -hop 0.5 -unknown-events
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/sigop-dev/sigop/go/classify"
	"github.com/sigop-dev/sigop/go/edge"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sigop-edge:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("sigop-edge", flag.ContinueOnError)
	dir := fs.String("model", "", "the exported model folder (a version folder, or a model's folder of versions: the newest)")
	hop := fs.Float64("hop", 0, "seconds between window starts (samples for a model without a rate); 0: one window")
	smooth := fs.Int("smooth", 3, "windows whose scores are averaged before a label is taken")
	minDuration := fs.Float64("min-duration", 0, "seconds a new label must hold before its event")
	threshold := fs.Float64("threshold", 0, `a smoothed top score below this is the label "none"`)
	unknownEvents := fs.Bool("unknown-events", false, `report "unknown" events from the model's unknown score`)
	windows := fs.Bool("windows", false, "print every window too, not only events")
	chunk := fs.Int("chunk", 1, "samples read before they are fed to the model (1: each as it arrives)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || fs.NArg() > 0 {
		return fmt.Errorf("usage: sigop-edge -model DIR [flags] < samples")
	}
	m, err := edge.Open(*dir)
	if err != nil {
		return err
	}
	channels := m.Info().Channels
	chunks := make(chan [][]float64)
	readErr := make(chan error, 1)
	go func() { readErr <- read(stdin, channels, max(1, *chunk), chunks) }()
	cfg := classify.StreamConfig{Hop: *hop, SmoothingWindows: *smooth, MinDuration: *minDuration,
		Threshold: *threshold, UnknownEvents: *unknownEvents}
	results, done := m.WatchMultichannel(context.Background(), cfg, chunks, classify.TopK(1))
	w := bufio.NewWriter(stdout)
	enc := json.NewEncoder(w)
	for r := range results {
		var v any = r.Event
		if r.Window != nil {
			if !*windows {
				continue
			}
			v = r.Window
		}
		if err := enc.Encode(v); err != nil {
			return err
		}
		w.Flush() // as it happens
	}
	if err := <-done; err != nil {
		return err
	}
	return <-readErr
}

// read sends stdin's samples in chunks of n, [channels][n], and closes
// chunks at the end of the input. A line that is not numbers (a header) is
// skipped; a line of another channel count is an error naming both.
func read(r io.Reader, channels, n int, chunks chan<- [][]float64) error {
	defer close(chunks)
	s := bufio.NewScanner(r)
	next := func() [][]float64 { return make([][]float64, channels) }
	pending, count := next(), 0
	for line := 1; s.Scan(); line++ {
		fields := strings.FieldsFunc(s.Text(), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == ';' })
		if len(fields) == 0 {
			continue
		}
		values := make([]float64, len(fields))
		var err error
		for i, f := range fields {
			if values[i], err = strconv.ParseFloat(f, 64); err != nil {
				break
			}
		}
		if err != nil {
			if line == 1 {
				continue // a header
			}
			return fmt.Errorf("line %d: %q is not numbers", line, s.Text())
		}
		if len(values) != channels {
			return fmt.Errorf("line %d has %d values; the model takes %d channels per sample", line, len(values), channels)
		}
		for c, v := range values {
			pending[c] = append(pending[c], v)
		}
		if count++; count == n {
			chunks <- pending
			pending, count = next(), 0
		}
	}
	if count > 0 {
		chunks <- pending
	}
	return s.Err()
}
