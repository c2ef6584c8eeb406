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
	r, err := c.ClassifyAudio(ctx, files)
	if err != nil {
		return err
	}
	fmt.Printf("\nclassifier %q (version %d) on %d WAV files from %s, one ClassifyAudio call: %v\n", r.Model, r.Version,
		len(files), dir, time.Since(start).Round(time.Millisecond))
	printConfusion(truth, r.Classes)
	return nil
}

// printConfusion prints true against top-1 predicted labels (sorted) and the accuracy.
func printConfusion(truth []string, ranked [][]operator.Class) {
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
	width := 4
	for _, n := range names {
		width = max(width, len(n)+2)
	}
	fmt.Printf("  %-18s", "true \\ predicted")
	for _, n := range names {
		fmt.Printf("%*s", width, n)
	}
	fmt.Println()
	for _, t := range names {
		fmt.Printf("  %-18s", t)
		for _, p := range names {
			fmt.Printf("%*d", width, confusion[[2]string{t, p}])
		}
		fmt.Println()
	}
	fmt.Printf("accuracy: %.2f%% (%d/%d)\n", 100*float64(correct)/float64(len(truth)), correct, len(truth))
}
