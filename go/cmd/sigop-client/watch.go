package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/sigop-dev/sigop/go/operator"
)

// runWatch streams a recording, or numbers from stdin as they arrive, to the
// server's ClassifyStream and prints each event as it happens.
func runWatch(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	var conn targetFlags
	conn.register(fs, 0)
	conn.registerDir(fs)
	model := fs.String("model", "", "classifier model name (default: the server's only classifier)")
	version := fs.Int64("model-version", 0, "the model's version, kept for the whole stream (default: the newest)")
	hop := fs.Float64("hop", 0, "seconds between window starts (samples for a stream without a rate); 0: one window")
	rate := fs.Float64("rate", 0, "Hz of the numbers read from stdin; 0: the model's own (files carry their rate)")
	smooth := fs.Int("smooth", 3, "windows whose scores are averaged before a label is taken")
	minDuration := fs.Float64("min-duration", 0, "seconds a new label must hold before its event")
	threshold := fs.Float64("threshold", 0, "a smoothed top score below this is the label \"none\"")
	unknownEvents := fs.Bool("unknown-events", false, "report \"unknown\" events from the model's unknown score")
	windows := fs.Bool("windows", false, "print every window's top label too, not only events")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: sigop-client watch [flags] FILE|-

Streams a WAV or FLAC file, a .npy or CSV recording, or numbers from stdin
(FILE "-" or none) as they arrive, to the server; prints each label change:
  START  LABEL  SCORE  (PREVIOUS from START)
START is in seconds when the stream has a rate (the model's, the file's, or
--rate; a spectrum-image model, or one trained without a rate, has none of
its own), else in samples.
For a model of several channels (an IMU's axes), stdin holds one line per
sample with one value per channel ("x,y,z"; a header line may name them, and
its time column is dropped), a .npy is [channels, samples], a CSV has one
column per channel, and a WAV keeps its channels.
--timeout is 0 (none) by default: a watch lasts as long as its input.
With --model-dir, a MiniRocket model folder watches it here, in Go, with
no server: the same windows, smoothing and events.`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("watch takes one FILE or -, got %d", fs.NArg())
	}
	name := fs.Arg(0)
	ctx := context.Background()
	if conn.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, conn.timeout)
		defer cancel()
	}
	c, m, closeTarget, err := conn.open(ctx, *model, *version)
	if err != nil {
		return err
	}
	defer closeTarget()
	channels := m.Channels
	var frames <-chan [][]float64 // every channel; nil for numbers on stdin to a one-channel model
	var readErr <-chan error
	var numbers <-chan []float64
	sampleRate := *rate
	switch {
	case name == "" || name == "-":
		in, rows := csvLike(stdin)
		if channels > 1 || rows { // rows, as a logger writes them: a header, a time column
			frames, readErr = rowChunks(in, channels)
		} else {
			numbers, readErr = numberChunks(in)
		}
	default:
		chunks, fileRate, errc, closeFile, err := fileChunks(name, channels)
		if err != nil {
			return err
		}
		defer closeFile()
		if fileRate != 0 {
			if *rate != 0 && *rate != fileRate {
				return fmt.Errorf("--rate %g Hz, but %s is %g Hz", *rate, name, fileRate)
			}
			sampleRate = fileRate
		}
		frames, readErr = chunks, errc
	}
	cfg := operator.StreamConfig{Hop: *hop, SmoothingWindows: *smooth, MinDuration: *minDuration, Threshold: *threshold,
		UnknownEvents: *unknownEvents}
	opts := []operator.CallOption{operator.Model(*model), operator.Version(*version), operator.TopK(1), operator.SampleRate(sampleRate)}
	var results <-chan operator.StreamResult
	var done <-chan error
	if channels > 1 {
		results, done = c.WatchMultichannel(ctx, cfg, frames, opts...)
	} else {
		if numbers == nil {
			sound := strings.HasSuffix(strings.ToLower(name), ".wav") || strings.HasSuffix(strings.ToLower(name), ".flac")
			numbers, readErr = monoChunks(frames, readErr, sound, name)
		}
		results, done = c.Watch(ctx, cfg, numbers, opts...)
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	for r := range results {
		if r.Window != nil && !*windows {
			continue
		}
		if err := printResult(w, r, *asJSON, sampleRate != 0 || m.SampleRate != 0); err != nil {
			return err
		}
		w.Flush() // as it happens, not when the buffer fills
	}
	if err := <-done; err != nil {
		return err
	}
	return <-readErr
}

// printResult prints a result; times in seconds when the stream is
// “timed“ (it has a rate), else in samples.
func printResult(w io.Writer, r operator.StreamResult, asJSON, timed bool) error {
	if asJSON {
		if r.Event != nil {
			return json.NewEncoder(w).Encode(map[string]any{"event": r.Event})
		}
		return json.NewEncoder(w).Encode(map[string]any{"window": r.Window})
	}
	at := func(seconds float64, sample int64) string {
		if timed {
			return fmt.Sprintf("%.2f", seconds)
		}
		return fmt.Sprintf("%d", sample)
	}
	if e := r.Event; e != nil {
		since := ""
		if e.Previous != "" {
			since = fmt.Sprintf("\t(%s from %s)", e.Previous, at(e.PreviousStart, e.PreviousStartSample))
		}
		_, err := fmt.Fprintf(w, "%s\t%s\t%.4f%s\n", at(e.Start, e.StartSample), e.Label, e.Score, since)
		return err
	}
	top := r.Window.Classes[0]
	_, err := fmt.Fprintf(w, "  window %s-%s\t%s\t%.4f%s\n", at(r.Window.Start, r.Window.StartSample),
		at(r.Window.End, r.Window.EndSample), top.Label, top.Score, unknownColumn(r.Window.Unknown))
	return err
}

// csvLike reads stdin's first line and says whether it is a CSV's (a
// header, or values between commas or semicolons) rather than
// whitespace-separated numbers; the reader it returns starts with that line.
func csvLike(stdin io.Reader) (io.Reader, bool) {
	rest, t := firstLine(stdin)
	return rest, t != "" && (header(splitFields(t, separatorOf(t))) || strings.ContainsAny(t, ",;"))
}

// numberChunks reads whitespace-separated numbers and sends them in chunks:
// whatever each read returns (what has arrived so far, up to 64 KiB), so a
// slow producer's samples go out at once and a fast one's in large chunks,
// with or without newlines. The error channel gets nil at the end of input,
// or the first bad number with its line.
func numberChunks(r io.Reader) (<-chan []float64, <-chan error) {
	out, errc := make(chan []float64, 4), make(chan error, 1)
	go func() {
		defer close(out)
		buf := make([]byte, 1<<16)
		var rest []byte // a number cut by the read's end
		line := 1
		for {
			n, err := r.Read(buf)
			data := append(rest, buf[:n]...)
			cut := len(data)
			if err == nil {
				cut = bytes.LastIndexFunc(data, unicode.IsSpace) + 1 // the last number may go on in the next read
			}
			var chunk []float64
			for _, ln := range bytes.SplitAfter(data[:cut], []byte("\n")) {
				for _, field := range bytes.Fields(ln) {
					v, perr := strconv.ParseFloat(string(field), 64)
					if perr != nil {
						errc <- fmt.Errorf("stdin line %d: %q is not a number", line, field)
						return
					}
					chunk = append(chunk, v)
				}
				if bytes.HasSuffix(ln, []byte("\n")) {
					line++
				}
			}
			rest = append([]byte(nil), data[cut:]...)
			if len(chunk) > 0 {
				out <- chunk
			}
			if err == io.EOF {
				errc <- nil
				return
			}
			if err != nil {
				errc <- err
				return
			}
		}
	}()
	return out, errc
}
