package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// A recording of one or more channels, as sigop's trainer reads a signal
// file (python/src/sigop/signals.py): a 2-D .npy is [channels, samples]; a
// CSV/TXT with a header row names one channel per column, and a time
// column (time, timestamp, t; a unit in its name, else "timestamp" is
// milliseconds and "time" seconds) is dropped and gives the rate.
type recording struct {
	channels [][]float64 // [channels][samples]
	rate     float64     // from a time column; 0: not stated
	names    []string    // from a header
}

var timeColumn = regexp.MustCompile(`(?i)^(time(stamp)?|t)\b\s*[\[(_ ]*\s*(s|sec|seconds|ms|millis|milliseconds|us|µs|micros)?\s*[\])]*$`)

var timeUnits = map[string]float64{"s": 1, "sec": 1, "seconds": 1, "ms": 1e-3, "millis": 1e-3, "milliseconds": 1e-3,
	"us": 1e-6, "µs": 1e-6, "micros": 1e-6}

// splitFields splits a line on its separator: a comma, semicolon or tab if
// the first line has one, else white space.
func splitFields(line, sep string) []string {
	if sep == "" {
		return strings.Fields(line)
	}
	parts := strings.Split(line, sep)
	for i := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(parts[i]), `"`)
	}
	return parts
}

func separatorOf(line string) string {
	for _, sep := range []string{",", ";", "\t"} {
		if strings.Contains(line, sep) {
			return sep
		}
	}
	return ""
}

func isNumber(field string) bool {
	_, err := strconv.ParseFloat(field, 64)
	return err == nil
}

// header reports whether a first line is a header row (a field that is not a number).
func header(fields []string) bool {
	return slices.ContainsFunc(fields, func(f string) bool { return !isNumber(f) })
}

// readTable reads text as one recording: with a header, one channel per
// column; without, one row (or one value per row) is one channel, rows of k
// values are k channels.
func readTable(r io.Reader, name string) (recording, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	var rows [][]float64
	var names []string
	sep, width := "", 0
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if rows == nil && names == nil {
			sep = separatorOf(text)
		}
		fields := splitFields(text, sep)
		if rows == nil && names == nil && header(fields) {
			names = fields
			width = len(fields)
			continue
		}
		if width == 0 {
			width = len(fields)
		}
		if len(fields) != width {
			return recording{}, fmt.Errorf("%s line %d: %d values, expected %d (one per column)", name, line, len(fields), width)
		}
		row := make([]float64, width)
		for j, f := range fields {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return recording{}, fmt.Errorf("%s line %d: %q is not a number (a header, if any, must be the first line)", name, line, f)
			}
			row[j] = v
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		return recording{}, err
	}
	if len(rows) == 0 {
		return recording{}, fmt.Errorf("%s: no samples", name)
	}
	columns := func(keep []int) [][]float64 {
		out := make([][]float64, len(keep))
		for c, j := range keep {
			out[c] = make([]float64, len(rows))
			for i, row := range rows {
				out[c][i] = row[j]
			}
		}
		return out
	}
	if names == nil {
		if len(rows) == 1 || width == 1 { // one row, or one value per row: one channel
			flat := make([]float64, 0, len(rows)*width)
			for _, row := range rows {
				flat = append(flat, row...)
			}
			return recording{channels: [][]float64{flat}}, nil
		}
		keep := make([]int, width)
		for j := range keep {
			keep[j] = j
		}
		return recording{channels: columns(keep)}, nil
	}
	rec := recording{}
	var keep []int
	for j, n := range names {
		if m := timeColumn.FindStringSubmatch(n); m != nil && rec.rate == 0 && len(keep) == j {
			unit := m[3]
			if unit == "" {
				unit = "s"
				if m[2] != "" {
					unit = "ms"
				}
			}
			rate, err := rateOf(columns([]int{j})[0], timeUnits[strings.ToLower(unit)], n, name)
			if err != nil {
				return recording{}, err
			}
			rec.rate = rate
			continue
		}
		keep = append(keep, j)
		rec.names = append(rec.names, n)
	}
	if len(keep) == 0 {
		return recording{}, fmt.Errorf("%s: only a time column; no channel to read", name)
	}
	rec.channels = columns(keep)
	return rec, nil
}

// rateOf is samples per second from a time column: 1 / the median step.
func rateOf(t []float64, unit float64, column, name string) (float64, error) {
	if len(t) < 2 {
		return 0, nil
	}
	steps := make([]float64, len(t)-1)
	for i := range steps {
		steps[i] = (t[i+1] - t[i]) * unit
		if steps[i] <= 0 {
			return 0, fmt.Errorf("%s: time column %q does not increase row by row; expected one row per sample in order", name, column)
		}
	}
	sort.Float64s(steps)
	median := steps[len(steps)/2]
	if len(steps)%2 == 0 {
		median = (steps[len(steps)/2-1] + steps[len(steps)/2]) / 2
	}
	rate, _ := strconv.ParseFloat(strconv.FormatFloat(1/median, 'g', 9, 64), 64)
	return rate, nil
}

// readRecording reads one file as one recording: a .npy [channels, samples]
// (or 1-D: one channel) or a table. As sigop's trainer does, an array
// [samples, channels] is refused: one of n rows and “channels“ columns
// (the model's count), or, with no count expected (0), one of at least four
// times as many rows as columns.
func readRecording(name string, channels int) (recording, error) {
	f, err := os.Open(name)
	if err != nil {
		return recording{}, err
	}
	defer f.Close()
	if !strings.EqualFold(filepath.Ext(name), ".npy") {
		return readTable(f, name)
	}
	rows, _, err := readNpy(f, name)
	if err != nil {
		return recording{}, err
	}
	r, c := len(rows), len(rows[0])
	if c == 1 && channels <= 1 { // a column: one channel
		flat := make([]float64, r)
		for i, row := range rows {
			flat[i] = row[0]
		}
		return recording{channels: [][]float64{flat}}, nil
	}
	if (channels > 0 && r != channels && c == channels) || (channels == 0 && r >= 4*c) {
		return recording{}, fmt.Errorf("%s: array of %d rows and %d columns looks like [samples, channels]; sigop reads [channels, samples] (save x.T)", name, r, c)
	}
	return recording{channels: rows}, nil
}

// firstLineIsHeader reports whether a text file starts with a header row,
// which makes it one recording of channels (columns) rather than signals (lines).
func firstLineIsHeader(name string) bool {
	if strings.EqualFold(filepath.Ext(name), ".npy") {
		return false
	}
	f, err := os.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	for sc.Scan() {
		if text := strings.TrimSpace(sc.Text()); text != "" {
			return header(splitFields(text, separatorOf(text)))
		}
	}
	return false
}
