package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"
	"github.com/mewkiz/flac"
)

// audioChunks decodes a WAV or FLAC file as it is read, sending mono chunks
// (channels averaged, as the server does for a one-channel model) scaled to
// [-1, 1). It returns the file's rate; the error channel gets nil at the end
// or the decoding error.
func audioChunks(f io.ReadSeeker, name string) (<-chan []float64, float64, <-chan error, error) {
	frames, rate, errc, err := audioFrames(f, name)
	if err != nil {
		return nil, 0, nil, err
	}
	out := make(chan []float64, 4)
	go func() {
		defer close(out)
		for chunk := range frames {
			out <- mono(chunk)
		}
	}()
	return out, rate, errc, nil
}

// audioFrames is audioChunks with every channel kept: chunks [channels][k].
func audioFrames(f io.ReadSeeker, name string) (<-chan [][]float64, float64, <-chan error, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".wav":
		return wavChunks(f, name)
	case ".flac":
		return flacChunks(f, name)
	default:
		return nil, 0, nil, fmt.Errorf("%s: watch reads .wav or .flac files (or numbers on stdin); "+
			"decode OGG and others to WAV or FLAC first (sox in.ogg out.wav), or send numbers with --rate", name)
	}
}

const chunkFrames = 4096

func wavChunks(f io.ReadSeeker, name string) (<-chan [][]float64, float64, <-chan error, error) {
	d := wav.NewDecoder(f)
	if !d.IsValidFile() {
		return nil, 0, nil, fmt.Errorf("%s: not a PCM WAV file go-audio/wav can read", name)
	}
	if err := d.FwdToPCM(); err != nil {
		return nil, 0, nil, fmt.Errorf("%s: %w", name, err)
	}
	if d.WavAudioFormat != 1 {
		return nil, 0, nil, fmt.Errorf("%s: WAV format %d; watch reads integer PCM (format 1)", name, d.WavAudioFormat)
	}
	channels, scale := int(d.NumChans), float64(int64(1)<<(d.BitDepth-1))
	out, errc := make(chan [][]float64, 4), make(chan error, 1)
	go func() {
		defer close(out)
		buf := &audio.IntBuffer{Data: make([]int, chunkFrames*channels), Format: d.Format()}
		for {
			n, err := d.PCMBuffer(buf)
			if n > 0 {
				out <- deinterleave(n/channels, channels, func(i int) float64 { return float64(buf.Data[i]) / scale })
			}
			if err != nil || n == 0 {
				errc <- err
				return
			}
		}
	}()
	return out, float64(d.SampleRate), errc, nil
}

func flacChunks(f io.Reader, name string) (<-chan [][]float64, float64, <-chan error, error) {
	s, err := flac.New(f)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%s: %w", name, err)
	}
	channels, scale := int(s.Info.NChannels), float64(int64(1)<<(s.Info.BitsPerSample-1))
	out, errc := make(chan [][]float64, 4), make(chan error, 1)
	go func() {
		defer close(out)
		for {
			frame, err := s.ParseNext()
			if errors.Is(err, io.EOF) {
				errc <- nil
				return
			}
			if err != nil {
				errc <- fmt.Errorf("%s: %w", name, err)
				return
			}
			n := frame.Subframes[0].NSamples
			out <- deinterleave(n, channels, func(i int) float64 {
				return float64(frame.Subframes[i%channels].Samples[i/channels]) / scale
			})
		}
	}()
	return out, float64(s.Info.SampleRate), errc, nil
}

// deinterleave splits interleaved sample(i), i = frame*channels + channel,
// into [channels][frames].
func deinterleave(frames, channels int, sample func(i int) float64) [][]float64 {
	out := make([][]float64, channels)
	for ch := range out {
		out[ch] = make([]float64, frames)
	}
	for t := range frames {
		for ch := range channels {
			out[ch][t] = sample(t*channels + ch)
		}
	}
	return out
}

// mono averages a chunk's channels, sample by sample.
func mono(chunk [][]float64) []float64 {
	if len(chunk) == 1 {
		return chunk[0]
	}
	out := make([]float64, len(chunk[0]))
	for t := range out {
		for _, x := range chunk {
			out[t] += x[t]
		}
		out[t] /= float64(len(chunk))
	}
	return out
}
