package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sigop-dev/sigop/go/operator"
)

// ClassifyResult is images per second of Classify calls at one batch size.
type ClassifyResult struct {
	Batch        int     `json:"batch"`
	Calls        int     `json:"calls"`
	ImagesPerSec float64 `json:"images_per_second"`
	P50          float64 `json:"p50_seconds"`
	P99          float64 `json:"p99_seconds"`
}

func runClassify(args []string) error {
	fs := flag.NewFlagSet("classify", flag.ContinueOnError)
	addr := fs.String("addr", "", "sigop server address")
	model := fs.String("model", "", "classifier model")
	dir := fs.String("images", "", "folder searched recursively for PNG images")
	calls := fs.Int("calls", 200, "single-image calls; batch-32 calls are calls/10")
	batches := fs.String("batches", "1,32", "batch sizes to time, in order: 1, 32 or both")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var sizes []int
	for _, b := range strings.Split(*batches, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(b))
		if err != nil || (n != 1 && n != 32) {
			return fmt.Errorf("--batches %q: expected 1, 32 or 1,32", *batches)
		}
		sizes = append(sizes, n)
	}
	images, err := pngs(*dir, 32)
	if err != nil {
		return err
	}
	if len(images) < 32 {
		return fmt.Errorf("need 32 PNG images under %s, found %d", *dir, len(images))
	}
	c, err := operator.Dial(*addr, operator.WithClassifier(*model), operator.WithTopK(1))
	if err != nil {
		return err
	}
	defer c.Close()
	ctx := context.Background()
	var out []ClassifyResult
	for _, batch := range sizes {
		n := *calls
		if batch > 1 {
			n = max(3, *calls/10)
		}
		call := func(i int) error {
			start := (i * batch) % len(images)
			_, err := c.ClassifyImages(ctx, images[start:start+batch])
			return err
		}
		if err := call(0); err != nil { // warm-up
			return err
		}
		times := make([]float64, n)
		begin := time.Now()
		for i := range times {
			t0 := time.Now()
			if err := call(i); err != nil {
				return err
			}
			times[i] = time.Since(t0).Seconds()
		}
		total := time.Since(begin).Seconds()
		slices.Sort(times)
		out = append(out, ClassifyResult{Batch: batch, Calls: n, ImagesPerSec: float64(n*batch) / total,
			P50: quantile(times, 0.5), P99: quantile(times, 0.99)})
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}
