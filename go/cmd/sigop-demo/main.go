// Command sigop-demo shows the article end to end: it starts a sigop server
// on the exported graphs, generates a signal of each device class, has the
// gRPC client compute their spectra with the frozen TensorFlow graph and
// prints the spectral peaks beside the pure-Go result; with --classifier it
// then generates fresh signals in Go and has the server's transfer-learned
// classifier tell the classes apart, printing the accuracy; with --audio-model
// and --wavs it has a waveform classifier recognise WAV files. `make demo`
// and `make demo-audio` run it.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/sigop-dev/sigop/go/operator"
	"github.com/sigop-dev/sigop/go/serverproc"
	"github.com/sigop-dev/sigop/go/signal"
)

func main() {
	sigop := flag.String("sigop", ".venv/bin/sigop", "the sigop executable")
	graphs := flag.String("graphs", "graphs", "folder of exported graphs")
	seed := flag.Uint64("seed", 2024, "signal generator seed")
	classifier := flag.String("classifier", "", "classifier model to test on fresh Go-generated signals (empty: skip)")
	perClass := flag.Int("per-class", 100, "fresh signals per class for the classifier")
	audioModel := flag.String("audio-model", "", "waveform classifier to send the --wavs files to (empty: skip)")
	wavs := flag.String("wavs", "", "folder of <label>/*.wav files for --audio-model")
	flag.Parse()
	if err := run(*sigop, *graphs, *seed, *classifier, *perClass, *audioModel, *wavs); err != nil {
		fmt.Fprintln(os.Stderr, "sigop-demo:", err)
		os.Exit(1)
	}
}

func run(sigop, graphs string, seed uint64, classifier string, perClass int, audioModel, wavs string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	fmt.Println("starting sigop server on", graphs, "...")
	srv, err := serverproc.Start(ctx, serverproc.Config{Command: sigop, Graphs: graphs})
	if err != nil {
		return err
	}
	defer srv.Stop(time.Minute)
	fmt.Println("server SERVING at", srv.Addr)

	client, err := operator.Dial(srv.Addr)
	if err != nil {
		return err
	}
	defer client.Close()
	var op operator.Operator = client // the article's interface
	local := operator.NewLocal()

	p := signal.DefaultParams()
	g, err := signal.NewGenerator(p, seed)
	if err != nil {
		return err
	}
	fmt.Printf("\narticle signals: n=%d, 10·sin(θ1+φ1) + 5·sin(θ2+φ2) + sin(θ3+φ3) + noise\n", p.N)
	for _, class := range []signal.Class{signal.Red, signal.Blue} {
		x, err := g.Signal(class)
		if err != nil {
			return err
		}
		start := time.Now()
		mag, err := op.FFT(x)
		if err != nil {
			return err
		}
		elapsed := time.Since(start)
		want, err := local.FFT(x)
		if err != nil {
			return err
		}
		fmt.Printf("\n%s device (tone bands near bins %d, %d, %d): FFT over gRPC in %v, max |server - gonum| = %.2g\n",
			class.Name, class.Cycles[0]/2, class.Cycles[1]/2, class.Cycles[2]/2, elapsed.Round(time.Microsecond), maxAbsDiff(mag, want))
		fmt.Println("  peak   bin  magnitude")
		for i, pk := range signal.Peaks(mag, 3) {
			fmt.Printf("  %4d %4d %10.1f\n", i+1, pk.Bin, pk.Magnitude)
		}
	}
	fmt.Println("\nblue devices show slightly higher frequency content in each of the three bands.")
	if classifier != "" {
		if err := classify(srv.Addr, classifier, g, perClass); err != nil {
			return err
		}
	}
	if audioModel != "" {
		if err := classifyWAVs(srv.Addr, audioModel, wavs); err != nil {
			return err
		}
	}
	return srv.Stop(time.Minute)
}

// classify has the server classify fresh signals that Go generated: the model
// was trained on signals that Python generated with the same class structure.
func classify(addr, model string, g *signal.Generator, perClass int) error {
	c, err := operator.Dial(addr, operator.WithClassifier(model), operator.WithTopK(1))
	if err != nil {
		return err
	}
	defer c.Close()
	classes := []signal.Class{signal.Blue, signal.Red}
	var signals [][]float64
	var truth []string
	for _, class := range classes {
		for range perClass {
			x, err := g.Signal(class)
			if err != nil {
				return err
			}
			signals, truth = append(signals, x), append(truth, class.Name)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	r, err := c.ClassifySignals(ctx, signals)
	if err != nil {
		return err
	}
	fmt.Printf("\nclassifier %q (version %d) on %d fresh signals generated in Go (%d per class), one ClassifySignal call: %v\n",
		r.Model, r.Version, len(signals), perClass, time.Since(start).Round(time.Millisecond))
	printConfusion(truth, r.Classes)
	return nil
}

func maxAbsDiff(a, b []float64) float64 {
	worst := 0.0
	for i := range a {
		worst = math.Max(worst, math.Abs(a[i]-b[i]))
	}
	return worst
}
