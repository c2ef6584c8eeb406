//go:build e2e

package e2e

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A cell of the matrix: a recipe `sigop train --model auto` can choose, the
// channels of its signals and where their rate comes from.
type cell struct {
	recipe   string // "transfer" (spectrum image), "minirocket", "log_mel" (the CNN on sound folders)
	channels int
	rate     string // "signals.json", "timestamp" (a CSV's time column), "none", "header" (a sound file's)
}

func (c cell) name() string {
	return fmt.Sprintf("%s-%dch-%s", strings.ReplaceAll(c.recipe, "_", ""), c.channels, strings.TrimSuffix(c.rate, ".json"))
}

// hz is the cell's sample rate as its files state it; 0 for none.
func (c cell) hz() float64 {
	switch c.rate {
	case "none":
		return 0
	case "header":
		return soundRate
	}
	return signalRate
}

// samples of one training signal.
func (c cell) samples() int {
	if c.recipe == "log_mel" {
		return soundSamples
	}
	return signalSamples
}

func (c cell) trainArgs() []string {
	switch c.recipe {
	case "log_mel":
		return []string{"--model", "cnn", "--front-end", "log_mel", "--duration", "0.5", "--patience", "20"}
	case "transfer":
		return []string{"--model", "transfer", "--patience", "20"}
	}
	return []string{"--model", c.recipe}
}

const (
	signalRate, signalSamples = 100.0, 1024
	soundRate, soundSamples   = 8000.0, 4000
)

var matrixClasses = []string{"a", "b", "c"}

// signal is one [channels][n] signal of class k (-1: the unknown class).
// One channel: a tone whose band is the class (6-9, 15-19, 28-33 Hz at
// 100 Hz; at 8 kHz, 300-400, 900-1100, 2000-2400 Hz) over unit noise, the
// unknown class's above them all. Three channels: the axis carrying an
// 8-12 Hz tone is the class, as the imu model's; the unknown class carries it on two.
func (c cell) signal(rng *rand.Rand, k int) [][]float64 {
	n, rate := c.samples(), signalRate
	if c.recipe == "log_mel" {
		rate = soundRate
	}
	bands := [][2]float64{{6, 9}, {15, 19}, {28, 33}, {40, 45}}
	if c.recipe == "log_mel" {
		bands = [][2]float64{{300, 400}, {900, 1100}, {2000, 2400}, {3200, 3500}}
	}
	out := make([][]float64, c.channels)
	for ch := range out {
		out[ch] = make([]float64, n)
		for i := range out[ch] {
			out[ch][i] = rng.NormFloat64()
		}
	}
	tone := func(ch int, band [2]float64) {
		f, phase := band[0]+(band[1]-band[0])*rng.Float64(), 2*math.Pi*rng.Float64()
		for i := range out[ch] {
			out[ch][i] += 3 * math.Sin(2*math.Pi*f*float64(i)/rate+phase)
		}
	}
	switch {
	case c.channels == 1 && k >= 0:
		tone(0, bands[k])
	case c.channels == 1:
		tone(0, bands[3])
	case k >= 0:
		tone(k, [2]float64{8, 12})
	default:
		tone(0, [2]float64{8, 12})
		tone(2, [2]float64{8, 12})
	}
	// as its files hold it, so that every path sends the same numbers: 16-bit PCM (an eighth of full scale per
	// unit) for sound, six decimals (the CSVs') for signals
	for ch := range out {
		for i, v := range out[ch] {
			if c.recipe == "log_mel" {
				out[ch][i] = math.Round(max(-32767, min(32767, v*4096))) / 32768
			} else {
				out[ch][i] = math.Round(v*1e6) / 1e6
			}
		}
	}
	return out
}

// ext is the suffix of the cell's files.
func (c cell) ext() string {
	switch c.rate {
	case "timestamp":
		return ".csv"
	case "header":
		return ".wav"
	}
	return ".npy"
}

// write saves x in the cell's file form.
func (c cell) write(t *testing.T, path string, x [][]float64) {
	t.Helper()
	var data []byte
	switch c.ext() {
	case ".csv":
		data = []byte(timestampCSV(x, c.hz()))
	case ".wav":
		data = wav16(x[0], int(soundRate))
	default:
		if c.channels == 1 {
			data = npy1(x[0])
		} else {
			data = npy3(x)
		}
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// folder writes perClass signals of each class (or, for class -1, of the
// unknown class into "other/") under root, with a signals.json if the cell's
// rate comes from one.
func (c cell) folder(t *testing.T, root string, rng *rand.Rand, perClass int, classes []int) {
	t.Helper()
	for _, k := range classes {
		name := "other"
		if k >= 0 {
			name = matrixClasses[k]
		}
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range perClass {
			c.write(t, filepath.Join(dir, fmt.Sprintf("%03d%s", i, c.ext())), c.signal(rng, k))
		}
	}
	c.signalsJSON(t, root)
}

// signalsJSON writes root/signals.json (rate, and the axes' names) if the cell's rate comes from one.
func (c cell) signalsJSON(t *testing.T, root string) {
	t.Helper()
	if c.rate != "signals.json" {
		return
	}
	meta := fmt.Sprintf(`{"sample_rate": %g}`, signalRate)
	if c.channels == 3 {
		meta = fmt.Sprintf(`{"sample_rate": %g, "channels": ["x", "y", "z"]}`, signalRate)
	}
	if err := os.WriteFile(filepath.Join(root, "signals.json"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
}

// recording is a device in class a for `windows` signal lengths, then in class b as long.
func (c cell) recording(rng *rand.Rand, windows int) [][]float64 {
	out := make([][]float64, c.channels)
	for _, k := range []int{0, 1} {
		for range windows {
			x := c.signal(rng, k)
			for ch := range out {
				out[ch] = append(out[ch], x[ch]...)
			}
		}
	}
	return out
}

// timestampCSV is a logger's export: a millisecond timestamp, then one column per channel.
func timestampCSV(x [][]float64, rate float64) string {
	var b strings.Builder
	b.WriteString("timestamp")
	for ch := range x {
		if len(x) == 1 {
			b.WriteString(",value")
		} else {
			b.WriteString(",acc" + strings.ToUpper(axes[ch]))
		}
	}
	b.WriteString("\n")
	for i := range x[0] {
		fmt.Fprintf(&b, "%d", 1_700_000_000_000+int64(math.Round(float64(i)*1000/rate)))
		for ch := range x {
			fmt.Fprintf(&b, ",%.6f", x[ch][i])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// wav16 writes a mono 16-bit PCM WAV of x (full scale ±1).
func wav16(x []float64, rate int) []byte {
	data := make([]byte, 2*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint16(data[2*i:], uint16(int16(math.Round(max(-32767, min(32767, v*32768))))))
	}
	h := make([]byte, 44)
	copy(h, "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+len(data)))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], 1)
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(2*rate))
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(len(data)))
	return append(h, data...)
}
