package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sigop-dev/sigop/go/operator"
)

type classifyFlags struct {
	targetFlags
	model   string
	version int64
	topK    int
	asJSON  bool
}

func (f *classifyFlags) register(fs *flag.FlagSet) {
	f.targetFlags.register(fs, 60*time.Second)
	fs.StringVar(&f.model, "model", "", "classifier model name (default: the server's only classifier)")
	fs.Int64Var(&f.version, "model-version", 0, "the model's version (default: the newest)")
	fs.IntVar(&f.topK, "top", 3, "labels to print per input (0: all)")
	fs.BoolVar(&f.asJSON, "json", false, "print one JSON object per input")
}

// classifyCall makes the classification call(s) of one command.
type classifyCall func(context.Context, *operator.Client, ...operator.CallOption) (*operator.Result, error)

// run dials the server, makes the command's call with the flags' model,
// version and top-k, and prints a ranking per input, named by names (asked
// after the call, which may be what read the inputs).
func (f *classifyFlags) run(stdout io.Writer, names func() []string, call classifyCall) error {
	c, err := f.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	r, err := call(ctx, c, operator.Model(f.model), operator.Version(f.version), operator.TopK(f.topK))
	if err != nil {
		return err
	}
	return printRankings(stdout, names(), r, f.asJSON)
}

// printRankings prints a ranking per input, named by names.
func printRankings(stdout io.Writer, names []string, r *operator.Result, asJSON bool) error {
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	for i := range r.Classes {
		if err := printRanking(w, names[i], r, i, asJSON); err != nil {
			return err
		}
	}
	return nil
}

// printRanking prints input i's ranking, then its unknown score when the
// model has one ("UNKNOWN" after it when it is over the model's threshold).
func printRanking(w io.Writer, name string, r *operator.Result, i int, asJSON bool) error {
	classes := r.Classes[i]
	var unknown *operator.Unknown
	if r.Unknown != nil {
		unknown = &r.Unknown[i]
	}
	if asJSON {
		out := map[string]any{"input": name, "model": r.Model, "version": r.Version, "classes": classes}
		if unknown != nil {
			out["unknown"] = unknown
		}
		return json.NewEncoder(w).Encode(out)
	}
	parts := make([]string, len(classes))
	for j, c := range classes {
		parts[j] = fmt.Sprintf("%s %.4f", c.Label, c.Score)
	}
	_, err := fmt.Fprintf(w, "%s\t%s%s\n", name, strings.Join(parts, "\t"), unknownColumn(unknown))
	return err
}

// unknownColumn is the tab-led unknown score of a result, or nothing for a
// model without one.
func unknownColumn(u *operator.Unknown) string {
	if u == nil {
		return ""
	}
	if u.Unknown {
		return fmt.Sprintf("\tunknown-score %.4f UNKNOWN", u.Score)
	}
	return fmt.Sprintf("\tunknown-score %.4f", u.Score)
}

// readFiles reads each named file whole, in order.
func readFiles(names []string) ([][]byte, error) {
	out := make([][]byte, len(names))
	for i, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func runClassify(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("classify", flag.ContinueOnError)
	var f classifyFlags
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sigop-client classify [flags] IMAGE...\n\nPrints each image's best labels and scores.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("classify: no image files given")
	}
	images, err := readFiles(fs.Args())
	if err != nil {
		return err
	}
	return f.run(stdout, fs.Args, func(ctx context.Context, c *operator.Client, opts ...operator.CallOption) (*operator.Result, error) {
		return c.ClassifyImages(ctx, images, opts...)
	})
}

func runClassifyAudio(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("classify-audio", flag.ContinueOnError)
	var f classifyFlags
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sigop-client classify-audio [flags] SOUNDFILE...\n\n"+
			"Sends each WAV, FLAC or OGG file (any sample rate, mono or stereo) to a waveform classifier\n"+
			"(e.g. one trained with 'sigop train --front-end log_mel') and prints its best labels.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("classify-audio: no sound files given")
	}
	files, err := readFiles(fs.Args())
	if err != nil {
		return err
	}
	return f.run(stdout, fs.Args, func(ctx context.Context, c *operator.Client, opts ...operator.CallOption) (*operator.Result, error) {
		return c.ClassifyAudio(ctx, files, opts...)
	})
}

func runClassifySignal(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("classify-signal", flag.ContinueOnError)
	var f classifyFlags
	f.register(fs)
	f.registerDir(fs)
	rate := fs.Float64("sample-rate", 0, "the signals' sample rate in Hz, for waveform classifiers (0: the model's own; a CSV's time column gives its own)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sigop-client classify-signal [flags] [FILE...]\n\n"+
			"Classifies signals. For a one-channel model: each .npy FILE (1-D: one signal; 2-D: one per row), or\n"+
			"each line of a text FILE (.csv, .txt; default stdin) as one signal of comma- or space-separated\n"+
			"numbers, e.g. the output of 'sigop-client generate'. A text FILE whose first line is a header\n"+
			"(time,value) is one signal, one sample per row. For a model of several channels (an IMU's axes),\n"+
			"each FILE is one signal: a 2-D .npy [channels, samples], or a CSV with one column per channel and\n"+
			"one row per sample (a header names them; a time/timestamp column gives the rate).\n"+
			"Signals of different lengths are sent in one call per length. With --model-dir, a MiniRocket model\n"+
			"folder classifies them here, in Go, with no server.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	c, m, closeTarget, err := f.open(ctx, f.model, f.version)
	if err != nil {
		return err
	}
	defer closeTarget()
	channels := m.Channels
	signals, names, err := readForModel(fs.Args(), stdin, channels)
	if err != nil {
		return err
	}
	if len(signals) == 0 {
		return fmt.Errorf("classify-signal: no signals read")
	}
	given := *rate
	opts := []operator.CallOption{operator.Model(f.model), operator.Version(f.version), operator.TopK(f.topK)}
	r, err := byShape(signals, given, func(same [][][]float64, rate float64) (*operator.Result, error) {
		if rateless(m) && given == 0 {
			rate = 0 // a file's own rate: a spectrum model draws by FFT bin, whatever the rate
		}
		o := append(opts, operator.SampleRate(rate))
		if channels > 1 {
			return c.ClassifyMultichannel(ctx, same, o...)
		}
		rows := make([][]float64, len(same))
		for i, s := range same {
			rows[i] = s[0]
		}
		return c.ClassifySignals(ctx, rows, o...)
	})
	if err != nil {
		return err
	}
	return printRankings(stdout, names, r, f.asJSON)
}
