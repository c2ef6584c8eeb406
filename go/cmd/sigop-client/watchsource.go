package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A stream's samples for a model of several channels: chunks [channels][k].

// rowChunks reads rows of one value per channel (a CSV a sensor logger
// writes as it goes: "x,y,z" per line, optionally a header, whose time
// column is dropped) and sends whatever rows have arrived as one chunk. The
// error channel gets nil at the end of input or the first bad line.
func rowChunks(r io.Reader, channels int) (<-chan [][]float64, <-chan error) {
	out, errc := make(chan [][]float64, 4), make(chan error, 1)
	go func() {
		defer close(out)
		br := bufio.NewReaderSize(r, 1<<16)
		sep, skip, first := "", -1, true
		chunk := newChunk(channels)
		for line := 1; ; line++ {
			text, err := br.ReadString('\n')
			if t := strings.TrimSpace(text); t != "" {
				if first {
					sep, first = separatorOf(t), false
					if fields := splitFields(t, sep); header(fields) {
						for j, f := range fields {
							if timeColumn.MatchString(f) {
								skip = j
								break
							}
						}
						continue
					}
				}
				if perr := chunk.add(splitFields(t, sep), skip, line); perr != nil {
					errc <- perr
					return
				}
			}
			if len(chunk[0]) > 0 && (br.Buffered() == 0 || err != nil) { // what has arrived goes out now
				out <- chunk
				chunk = newChunk(channels)
			}
			if errors.Is(err, io.EOF) {
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

type rows [][]float64

func newChunk(channels int) rows { return make(rows, channels) }

func (c rows) add(fields []string, skip, line int) error {
	if skip >= 0 && skip < len(fields) {
		fields = append(fields[:skip:skip], fields[skip+1:]...)
	}
	if len(fields) != len(c) {
		return fmt.Errorf("stdin line %d: %d values; the model takes %d channels, one value each per line", line, len(fields), len(c))
	}
	for ch, f := range fields {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return fmt.Errorf("stdin line %d: %q is not a number", line, f)
		}
		c[ch] = append(c[ch], v)
	}
	return nil
}

// recordingChunks sends a whole recording (a .npy or CSV file) in chunks of
// chunkFrames samples per channel; it returns the rate its file states (0: none).
func recordingChunks(name string, channels int) (<-chan [][]float64, float64, <-chan error, error) {
	rec, err := readRecording(name, channels)
	if err != nil {
		return nil, 0, nil, err
	}
	out, errc := make(chan [][]float64, 4), make(chan error, 1)
	go func() {
		defer close(out)
		n := len(rec.channels[0])
		for start := 0; start < n; start += chunkFrames {
			end := min(n, start+chunkFrames)
			chunk := make([][]float64, len(rec.channels))
			for ch, x := range rec.channels {
				chunk[ch] = x[start:end]
			}
			out <- chunk
		}
		errc <- nil
	}()
	return out, rec.rate, errc, nil
}

// fileChunks opens a recording to watch: a WAV or FLAC file, or a .npy, .csv
// or .txt of one or more channels. Chunks keep every channel.
func fileChunks(name string, channels int) (<-chan [][]float64, float64, <-chan error, func(), error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".npy", ".csv", ".txt":
		chunks, rate, errc, err := recordingChunks(name, channels)
		return chunks, rate, errc, func() {}, err
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, nil, nil, err
	}
	chunks, rate, errc, err := audioFrames(f, name)
	if err != nil {
		f.Close()
		return nil, 0, nil, nil, err
	}
	return chunks, rate, errc, func() { f.Close() }, nil
}

// monoChunks passes one-channel chunks on as samples; a chunk of several
// channels is averaged if “average“ (sound files, as the server averages
// them for a one-channel model), else refused.
func monoChunks(in <-chan [][]float64, inErr <-chan error, average bool, name string) (<-chan []float64, <-chan error) {
	out, errc := make(chan []float64, 4), make(chan error, 1)
	go func() {
		defer close(out)
		for chunk := range in {
			if len(chunk) > 1 && !average {
				for range in { // let the reader finish
				}
				errc <- fmt.Errorf("%s holds %d channels; the model takes one", name, len(chunk))
				return
			}
			out <- mono(chunk)
		}
		errc <- <-inErr
	}()
	return out, errc
}
