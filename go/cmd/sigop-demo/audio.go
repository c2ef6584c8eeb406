package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/sigop-dev/sigop/go/operator"
)

// classifyWAVs sends every WAV file under dir/<label>/ to the server's
// waveform classifier and prints a confusion table and the accuracy.
func classifyWAVs(addr, model, dir string) error {
	paths, err := filepath.Glob(filepath.Join(dir, "*", "*.wav"))
	if err != nil || len(paths) == 0 {
		return fmt.Errorf("no WAV files under %s/<label>/ (%v)", dir, err)
	}
	files := make([][]byte, len(paths))
	truth := make([]string, len(paths))
	for i, p := range paths {
		if files[i], err = os.ReadFile(p); err != nil {
			return err
		}
		truth[i] = filepath.Base(filepath.Dir(p))
	}
	c, err := operator.Dial(addr, operator.WithClassifier(model), operator.WithTopK(1))
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	ranked, err := c.ClassifyAudioBatchContext(ctx, files)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)

	labels := map[string]bool{}
	confusion := map[[2]string]int{}
	correct := 0
	for i, r := range ranked {
		labels[truth[i]], labels[r[0].Label] = true, true
		confusion[[2]string{truth[i], r[0].Label}]++
		if r[0].Label == truth[i] {
			correct++
		}
	}
	names := make([]string, 0, len(labels))
	for l := range labels {
		names = append(names, l)
	}
	sort.Strings(names)
	fmt.Printf("\nclassifier %q on %d WAV files from %s, one ClassifyAudio call: %v\n", model, len(files), dir,
		elapsed.Round(time.Millisecond))
	fmt.Print("  true \\ predicted")
	for _, n := range names {
		fmt.Printf("%4s", n)
	}
	fmt.Println()
	for _, t := range names {
		fmt.Printf("  %-16s", t)
		for _, p := range names {
			fmt.Printf("%4d", confusion[[2]string{t, p}])
		}
		fmt.Println()
	}
	fmt.Printf("accuracy: %.2f%% (%d/%d)\n", 100*float64(correct)/float64(len(files)), correct, len(files))
	return nil
}
