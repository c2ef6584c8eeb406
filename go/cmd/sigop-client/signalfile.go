package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// readSignals reads the signals in one file: a .npy array (1-D: one signal;
// 2-D: one per row; float64, float32 or integers, either byte order), or text
// (.csv, .txt, stdin) with one signal per line, values separated by commas or
// white space. Names say where each came from: file, file:row or file:line.
func readSignals(r io.Reader, name string) ([][]float64, []string, error) {
	if strings.EqualFold(filepath.Ext(name), ".npy") {
		return readNpy(r, name)
	}
	var signals [][]float64
	var names []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	for line := 1; sc.Scan(); line++ {
		text := strings.ReplaceAll(sc.Text(), ",", " ")
		if strings.TrimSpace(text) == "" {
			continue
		}
		x, err := readFloats(strings.NewReader(text))
		if err != nil {
			return nil, nil, fmt.Errorf("%s line %d: %w", name, line, err)
		}
		signals = append(signals, x)
		names = append(names, fmt.Sprintf("%s:%d", name, line))
	}
	return signals, names, sc.Err()
}

func readSignalFile(name string) ([][]float64, []string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return readSignals(f, name)
}

var (
	npyDescr = regexp.MustCompile(`'descr':\s*'([<>|=])([fiu])(\d)'`)
	npyOrder = regexp.MustCompile(`'fortran_order':\s*(True|False)`)
	npyShape = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)
)

// readNpy reads NumPy's .npy format (versions 1-3): a magic string, a header
// dict with descr, fortran_order and shape, then the raw array.
func readNpy(r io.Reader, name string) ([][]float64, []string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, err
	}
	bad := func(why string) error { return fmt.Errorf("%s: not a .npy array sigop-client reads: %s", name, why) }
	if len(data) < 10 || !bytes.Equal(data[:6], []byte("\x93NUMPY")) {
		return nil, nil, bad("no NUMPY magic")
	}
	headerLen, start := int(binary.LittleEndian.Uint16(data[8:10])), 10
	if data[6] >= 2 {
		if len(data) < 12 {
			return nil, nil, bad("truncated header")
		}
		headerLen, start = int(binary.LittleEndian.Uint32(data[8:12])), 12
	}
	if len(data) < start+headerLen {
		return nil, nil, bad("truncated header")
	}
	header, body := string(data[start:start+headerLen]), data[start+headerLen:]
	d, o, s := npyDescr.FindStringSubmatch(header), npyOrder.FindStringSubmatch(header), npyShape.FindStringSubmatch(header)
	if d == nil || o == nil || s == nil {
		return nil, nil, bad("expected a float or integer dtype and a shape")
	}
	var shape []int
	for _, part := range strings.Split(s[1], ",") {
		if part = strings.TrimSpace(part); part != "" {
			n, err := strconv.Atoi(part)
			if err != nil {
				return nil, nil, bad("shape " + s[1])
			}
			shape = append(shape, n)
		}
	}
	rows, cols := 1, 0
	switch len(shape) {
	case 1:
		cols = shape[0]
	case 2:
		rows, cols = shape[0], shape[1]
	default:
		return nil, nil, bad(fmt.Sprintf("%d dimensions; expected 1 (a signal) or 2 (one per row)", len(shape)))
	}
	size, _ := strconv.Atoi(d[3])
	if len(body) < rows*cols*size {
		return nil, nil, bad(fmt.Sprintf("%d bytes of data for shape %v", len(body), shape))
	}
	var order binary.ByteOrder = binary.LittleEndian
	if d[1] == ">" {
		order = binary.BigEndian
	}
	value := func(i int) (float64, error) {
		b := body[i*size : (i+1)*size]
		switch d[2] + d[3] {
		case "f8":
			return math.Float64frombits(order.Uint64(b)), nil
		case "f4":
			return float64(math.Float32frombits(order.Uint32(b))), nil
		case "i8":
			return float64(int64(order.Uint64(b))), nil
		case "i4":
			return float64(int32(order.Uint32(b))), nil
		case "i2":
			return float64(int16(order.Uint16(b))), nil
		}
		return 0, bad(fmt.Sprintf("dtype %s%s%s; expected float64, float32 or int16/32/64", d[1], d[2], d[3]))
	}
	signals, names := make([][]float64, rows), make([]string, rows)
	for i := range rows {
		signals[i] = make([]float64, cols)
		for j := range cols {
			at := i*cols + j
			if o[1] == "True" && len(shape) == 2 {
				at = j*rows + i
			}
			v, err := value(at)
			if err != nil {
				return nil, nil, err
			}
			signals[i][j] = v
		}
		names[i] = name
		if rows > 1 {
			names[i] = fmt.Sprintf("%s:%d", name, i)
		}
	}
	return signals, names, nil
}
