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
	addr, model string
	topK        int
	asJSON      bool
	timeout     time.Duration
}

func (f *classifyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "addr", "127.0.0.1:50051", "sigop server address (any gRPC target)")
	fs.StringVar(&f.model, "model", "", "classifier model name (default: the server's only classifier)")
	fs.IntVar(&f.topK, "top", 3, "labels to print per input (0: all)")
	fs.BoolVar(&f.asJSON, "json", false, "print one JSON object per input")
	fs.DurationVar(&f.timeout, "timeout", 60*time.Second, "deadline of the call")
}

// run dials the server, makes one classification call and prints a ranking
// per input, named by names.
func (f *classifyFlags) run(stdout io.Writer, names []string,
	call func(context.Context, *operator.Client) ([][]operator.Class, error)) error {
	c, err := operator.Dial(f.addr, operator.WithClassifier(f.model), operator.WithTopK(f.topK))
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	ranked, err := call(ctx, c)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	for i, classes := range ranked {
		if err := printRanking(w, names[i], classes, f.asJSON); err != nil {
			return err
		}
	}
	return nil
}

func printRanking(w io.Writer, name string, classes []operator.Class, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(map[string]any{"input": name, "classes": classes})
	}
	parts := make([]string, len(classes))
	for i, c := range classes {
		parts[i] = fmt.Sprintf("%s %.4f", c.Label, c.Score)
	}
	_, err := fmt.Fprintf(w, "%s\t%s\n", name, strings.Join(parts, "\t"))
	return err
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
	return f.run(stdout, fs.Args(), func(ctx context.Context, c *operator.Client) ([][]operator.Class, error) {
		return c.ClassifyBatchContext(ctx, images)
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
	return f.run(stdout, fs.Args(), func(ctx context.Context, c *operator.Client) ([][]operator.Class, error) {
		return c.ClassifyAudioBatchContext(ctx, files)
	})
}

func runClassifySignal(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("classify-signal", flag.ContinueOnError)
	var f classifyFlags
	f.register(fs)
	rate := fs.Float64("sample-rate", 0, "the signals' sample rate in Hz, for waveform classifiers (0: the model's own)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sigop-client classify-signal [flags] [FILE...]\n\n"+
			"Classifies each line of each FILE (default stdin) as one signal of whitespace-separated numbers,\n"+
			"e.g. the output of 'sigop-client generate'.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	var signals [][]float64
	var names []string
	read := func(r io.Reader, name string) error {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<28)
		for line := 1; sc.Scan(); line++ {
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			x, err := readFloats(strings.NewReader(sc.Text()))
			if err != nil {
				return fmt.Errorf("%s line %d: %w", name, line, err)
			}
			signals = append(signals, x)
			names = append(names, fmt.Sprintf("%s:%d", name, line))
		}
		return sc.Err()
	}
	if fs.NArg() == 0 {
		if err := read(stdin, "stdin"); err != nil {
			return err
		}
	}
	for _, name := range fs.Args() {
		file, err := os.Open(name)
		if err != nil {
			return err
		}
		err = read(file, name)
		file.Close()
		if err != nil {
			return err
		}
	}
	if len(signals) == 0 {
		return fmt.Errorf("classify-signal: no signals read")
	}
	return f.run(stdout, names, func(ctx context.Context, c *operator.Client) ([][]operator.Class, error) {
		return c.ClassifySignalsAtRateContext(ctx, signals, *rate)
	})
}
