package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/sigop-dev/sigop/go/operator"
)

// LoadResult is what N concurrent single-image Classify clients achieved.
type LoadResult struct {
	Clients      int     `json:"clients"`
	Seconds      float64 `json:"seconds"`
	Calls        int     `json:"calls"`
	Failed       int     `json:"failed"`
	ImagesPerSec float64 `json:"images_per_second"`
	P50          float64 `json:"p50_seconds"`
	P95          float64 `json:"p95_seconds"`
	P99          float64 `json:"p99_seconds"`
}

// runLoad: N clients, each calling Classify with one image back to back for T.
func runLoad(args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	addr := fs.String("addr", "", "sigop server address")
	model := fs.String("model", "", "classifier model")
	dir := fs.String("images", "", "folder searched recursively for PNG images")
	clients := fs.Int("clients", 8, "concurrent clients")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	if err := fs.Parse(args); err != nil {
		return err
	}
	images, err := pngs(*dir, 64)
	if err != nil {
		return err
	}
	c, err := operator.Dial(*addr, operator.WithClassifier(*model), operator.WithTopK(1))
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.ClassifyImages(context.Background(), images[:1]); err != nil { // connect and warm up
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	var mu sync.Mutex
	var latencies []float64
	failed := 0
	var wg sync.WaitGroup
	begin := time.Now()
	for i := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := i; ctx.Err() == nil; k += *clients {
				t0 := time.Now()
				_, err := c.ClassifyImages(context.Background(), images[k%len(images):k%len(images)+1])
				d := time.Since(t0).Seconds()
				mu.Lock()
				if err != nil {
					failed++
				} else {
					latencies = append(latencies, d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin).Seconds()
	if len(latencies) == 0 {
		return fmt.Errorf("no call succeeded (%d failed)", failed)
	}
	slices.Sort(latencies)
	return json.NewEncoder(os.Stdout).Encode(LoadResult{
		Clients: *clients, Seconds: elapsed, Calls: len(latencies), Failed: failed,
		ImagesPerSec: float64(len(latencies)) / elapsed, P50: quantile(latencies, 0.50), P95: quantile(latencies, 0.95), P99: quantile(latencies, 0.99),
	})
}

// pngs reads up to limit PNG files found under dir.
func pngs(dir string, limit int) ([][]byte, error) {
	var images [][]byte
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && filepath.Ext(path) == ".png" && len(images) < limit {
			b, err := os.ReadFile(path)
			images = append(images, b)
			return err
		}
		return err
	})
	if err == nil && len(images) == 0 {
		err = fmt.Errorf("no PNG images under %s", dir)
	}
	return images, err
}
