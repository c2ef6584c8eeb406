package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"
	"github.com/mewkiz/flac"
	"github.com/mewkiz/flac/frame"
	"github.com/mewkiz/flac/meta"
)

// stereo is n frames of a left and a right channel, 16-bit integers.
func stereo(n int) (left, right []int) {
	for i := range n {
		left = append(left, int(8000*math.Sin(float64(i)/7)))
		right = append(right, (i%200)*100-10000)
	}
	return left, right
}

func drain(t *testing.T, chunks <-chan []float64, errc <-chan error) []float64 {
	t.Helper()
	var all []float64
	for c := range chunks {
		all = append(all, c...)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return all
}

// checkMono: every frame is the channels' mean scaled to [-1, 1), as the server reads them.
func checkMono(t *testing.T, got []float64, left, right []int) {
	t.Helper()
	if len(got) != len(left) {
		t.Fatalf("%d samples; want %d", len(got), len(left))
	}
	for i := range got {
		if want := float64(left[i]+right[i]) / 2 / 32768; math.Abs(got[i]-want) > 1e-12 {
			t.Fatalf("sample %d = %g; want %g", i, got[i], want)
		}
	}
}

func TestWAVIsReadInChunksAsMono(t *testing.T) {
	left, right := stereo(10000) // more than one chunk
	path := filepath.Join(t.TempDir(), "x.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	enc := wav.NewEncoder(f, 8000, 16, 2, 1)
	data := make([]int, 0, 2*len(left))
	for i := range left {
		data = append(data, left[i], right[i])
	}
	if err := enc.Write(&audio.IntBuffer{Data: data, Format: &audio.Format{NumChannels: 2, SampleRate: 8000}, SourceBitDepth: 16}); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	in, _ := os.Open(path)
	defer in.Close()
	chunks, rate, errc, err := audioChunks(in, path)
	if err != nil || rate != 8000 {
		t.Fatalf("audioChunks: rate %g, %v", rate, err)
	}
	checkMono(t, drain(t, chunks, errc), left, right)
}

func TestFLACIsReadFrameByFrameAsMono(t *testing.T) {
	left, right := stereo(3 * 1024)
	var buf bytes.Buffer
	enc, err := flac.NewEncoder(&buf, &meta.StreamInfo{BlockSizeMin: 1024, BlockSizeMax: 1024, SampleRate: 11025,
		NChannels: 2, BitsPerSample: 16, NSamples: uint64(len(left))})
	if err != nil {
		t.Fatal(err)
	}
	for at := 0; at < len(left); at += 1024 {
		sub := func(x []int) *frame.Subframe {
			s := make([]int32, 1024)
			for i := range s {
				s[i] = int32(x[at+i])
			}
			return &frame.Subframe{SubHeader: frame.SubHeader{Pred: frame.PredVerbatim}, Samples: s, NSamples: 1024}
		}
		err := enc.WriteFrame(&frame.Frame{Header: frame.Header{HasFixedBlockSize: true, BlockSize: 1024,
			SampleRate: 11025, Channels: frame.ChannelsLR, BitsPerSample: 16}, Subframes: []*frame.Subframe{sub(left), sub(right)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	chunks, rate, errc, err := audioChunks(bytes.NewReader(buf.Bytes()), "x.FLAC")
	if err != nil || rate != 11025 {
		t.Fatalf("audioChunks: rate %g, %v", rate, err)
	}
	checkMono(t, drain(t, chunks, errc), left, right)
}

func TestOtherFormatsAreRefusedWithTheWayOut(t *testing.T) {
	_, _, _, err := audioChunks(bytes.NewReader(nil), "x.ogg")
	if err == nil || !strings.Contains(err.Error(), ".wav or .flac") || !strings.Contains(err.Error(), "--rate") {
		t.Fatalf("audioChunks(x.ogg): %v; want a refusal naming what watch reads", err)
	}
	_, _, _, err = audioChunks(bytes.NewReader([]byte("RIFF....not a wav")), "x.wav")
	if err == nil || !strings.Contains(err.Error(), "x.wav") {
		t.Fatalf("audioChunks(garbage): %v", err)
	}
}

// Numbers go out as soon as the reader has no more buffered: a line typed
// alone is one chunk, and a bad number names its line.
func TestNumberChunks(t *testing.T) {
	chunks, errc := numberChunks(strings.NewReader("1 2\n3\n"))
	if got := drain(t, chunks, errc); len(got) != 3 || got[2] != 3 {
		t.Fatalf("numbers %v; want 1 2 3", got)
	}
	// One byte per read, no newline: a number cut by a read is joined to its rest.
	chunks, errc = numberChunks(iotest.OneByteReader(strings.NewReader("10 -2.5e1 30")))
	if got := drain(t, chunks, errc); len(got) != 3 || got[0] != 10 || got[1] != -25 || got[2] != 30 {
		t.Fatalf("numbers %v; want 10 -25 30", got)
	}
	r, w, _ := os.Pipe()
	chunks, errc = numberChunks(r)
	w.WriteString("0.5 0.25\n")
	if c := <-chunks; len(c) != 2 || c[1] != 0.25 {
		t.Fatalf("first chunk %v; want [0.5 0.25] before more input arrives", c)
	}
	w.WriteString("7 x\n")
	w.Close()
	for range chunks {
	}
	if err := <-errc; err == nil || !strings.Contains(err.Error(), `line 2: "x"`) {
		t.Fatalf("bad number: %v; want its line named", err)
	}
}
