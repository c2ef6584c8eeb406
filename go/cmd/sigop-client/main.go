// Command sigop-client calls a sigop server (or the pure-Go Local operator)
// from the shell.
//
//	sigop-client generate --class blue --seed 1 > signal.txt
//	sigop-client fft --addr 127.0.0.1:50051 --peaks 3 signal.txt
//	sigop-client generate | sigop-client fft --json
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sigop-dev/sigop/go/operator"
	"github.com/sigop-dev/sigop/go/signal"
)

const usage = `usage: sigop-client <command> [flags]

commands:
  fft              read a signal (whitespace-separated numbers) from a file or stdin, print its spectrum
  generate         print article signals of a class, one per line
  classify         classify PNG or JPEG images with a server's classifier
  classify-signal  classify signals (one per line, from files or stdin) with a spectrum or waveform classifier
  classify-audio   classify WAV, FLAC or OGG files with a waveform (audio) classifier
  watch            stream a WAV or FLAC file, or numbers from stdin as they arrive; print label changes as they happen
  models           list the server's models, their versions, kinds and labels

run 'sigop-client <command> -h' for a command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "fft":
		err = runFFT(os.Args[2:], os.Stdin, os.Stdout)
	case "generate":
		err = runGenerate(os.Args[2:], os.Stdout)
	case "classify":
		err = runClassify(os.Args[2:], os.Stdout)
	case "classify-signal":
		err = runClassifySignal(os.Args[2:], os.Stdin, os.Stdout)
	case "classify-audio":
		err = runClassifyAudio(os.Args[2:], os.Stdout)
	case "watch":
		err = runWatch(os.Args[2:], os.Stdin, os.Stdout)
	case "models":
		err = runModels(os.Args[2:], os.Stdout)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "sigop-client: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "sigop-client:", err)
		}
		os.Exit(1)
	}
}

func runFFT(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("fft", flag.ContinueOnError)
	var conn connFlags
	conn.register(fs, 30*time.Second)
	local := fs.Bool("local", false, "compute in-process with gonum instead of calling a server")
	asJSON := fs.Bool("json", false, "print JSON instead of one value per line")
	complexOut := fs.Bool("complex", false, "print the complex spectrum (real, imag) instead of the magnitude")
	peaks := fs.Int("peaks", 0, "print only the K strongest spectral peaks (bin, magnitude)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sigop-client fft [flags] [FILE]\n\nPrints the one-sided magnitude spectrum |X[k]|, k = 0..n/2, of the signal in FILE (default stdin).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	in := stdin
	if fs.NArg() > 0 {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	x, err := readFloats(in)
	if err != nil {
		return err
	}
	var op operator.Spectral = operator.NewLocal()
	if !*local {
		c, err := conn.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		op = c
	}
	ctx, cancel := context.WithTimeout(context.Background(), conn.timeout)
	defer cancel()

	w := bufio.NewWriter(stdout)
	defer w.Flush()
	if *complexOut {
		spectra, err := op.Spectra(ctx, [][]float64{x})
		if err != nil {
			return err
		}
		s := spectra[0]
		re, im := make([]float64, len(s)), make([]float64, len(s))
		for k, v := range s {
			re[k], im[k] = real(v), imag(v)
		}
		if *asJSON {
			return json.NewEncoder(w).Encode(map[string][]float64{"real": re, "imag": im})
		}
		for k := range re {
			fmt.Fprintf(w, "%s %s\n", fmtFloat(re[k]), fmtFloat(im[k]))
		}
		return nil
	}
	mags, err := op.Magnitudes(ctx, [][]float64{x})
	if err != nil {
		return err
	}
	mag := mags[0]
	if *peaks > 0 {
		ps := signal.Peaks(mag, *peaks)
		if *asJSON {
			return json.NewEncoder(w).Encode(map[string]any{"n": len(x), "peaks": ps})
		}
		for _, p := range ps {
			fmt.Fprintf(w, "%d %s\n", p.Bin, fmtFloat(p.Magnitude))
		}
		return nil
	}
	if *asJSON {
		return json.NewEncoder(w).Encode(map[string][]float64{"magnitude": mag})
	}
	for _, v := range mag {
		fmt.Fprintln(w, fmtFloat(v))
	}
	return nil
}

func runGenerate(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	class := fs.String("class", "blue", "device class: blue or red")
	n := fs.Int("n", signal.DefaultParams().N, "samples per signal")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same signals")
	count := fs.Int("count", 1, "number of signals, one per line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var c signal.Class
	switch *class {
	case signal.Blue.Name:
		c = signal.Blue
	case signal.Red.Name:
		c = signal.Red
	default:
		return fmt.Errorf("generate: unknown class %q; expected blue or red", *class)
	}
	p := signal.DefaultParams()
	p.N = *n
	g, err := signal.NewGenerator(p, *seed)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	for range *count {
		x, err := g.Signal(c)
		if err != nil {
			return err
		}
		for i, v := range x {
			if i > 0 {
				w.WriteByte(' ')
			}
			w.WriteString(fmtFloat(v))
		}
		w.WriteByte('\n')
	}
	return nil
}

// readFloats reads whitespace-separated numbers.
func readFloats(r io.Reader) ([]float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	sc.Split(bufio.ScanWords)
	var out []float64
	for sc.Scan() {
		v, err := strconv.ParseFloat(strings.TrimSpace(sc.Text()), 64)
		if err != nil {
			return nil, fmt.Errorf("input value %d: %q is not a number", len(out)+1, sc.Text())
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no input values: expected whitespace-separated numbers")
	}
	return out, nil
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
