package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// npyBytes writes a .npy file (format 1.0) the way numpy.save does.
func npyBytes(descr string, fortran bool, shape []int, data []byte) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	order := "False"
	if fortran {
		order = "True"
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }", descr, order, tuple)
	for (10+len(header)+1)%64 != 0 {
		header += " "
	}
	header += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func f64le(v ...float64) []byte {
	out := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(out[8*i:], math.Float64bits(x))
	}
	return out
}

func TestReadNpy(t *testing.T) {
	f32 := make([]byte, 16)
	for i, x := range []float32{1.5, -2, 3, 4} {
		binary.LittleEndian.PutUint32(f32[4*i:], math.Float32bits(x))
	}
	big := make([]byte, 16)
	binary.BigEndian.PutUint64(big, math.Float64bits(7))
	binary.BigEndian.PutUint64(big[8:], math.Float64bits(-8))
	i16 := []byte{1, 0, 0xff, 0xff, 3, 0}
	tests := []struct {
		name  string
		file  []byte
		want  [][]float64
		names []string
	}{
		{"1-D float64", npyBytes("<f8", false, []int{3}, f64le(1, 2, 3)), [][]float64{{1, 2, 3}}, []string{"x.npy"}},
		{"2-D float32", npyBytes("<f4", false, []int{2, 2}, f32), [][]float64{{1.5, -2}, {3, 4}}, []string{"x.npy:0", "x.npy:1"}},
		{"Fortran order", npyBytes("<f8", true, []int{2, 2}, f64le(1, 3, 2, 4)), [][]float64{{1, 2}, {3, 4}}, []string{"x.npy:0", "x.npy:1"}},
		{"big-endian", npyBytes(">f8", false, []int{2}, big), [][]float64{{7, -8}}, []string{"x.npy"}},
		{"int16", npyBytes("<i2", false, []int{3}, i16), [][]float64{{1, -1, 3}}, []string{"x.npy"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, names, err := readSignals(bytes.NewReader(tc.file), "x.npy")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, tc.want, slices.Equal[[]float64]) || !slices.Equal(names, tc.names) {
				t.Fatalf("readSignals(%s) = %v %v; want %v %v", tc.name, got, names, tc.want, tc.names)
			}
		})
	}
	for _, bad := range []struct{ name, file, says string }{
		{"no magic", "hello world, not numpy", "no NUMPY magic"},
		{"3-D", string(npyBytes("<f8", false, []int{1, 1, 1}, f64le(1))), "3 dimensions"},
		{"complex", string(npyBytes("<c16", false, []int{1}, f64le(1, 2))), "expected a float or integer dtype"},
		{"short data", string(npyBytes("<f8", false, []int{4}, f64le(1))), "bytes of data"},
	} {
		if _, _, err := readSignals(strings.NewReader(bad.file), "x.npy"); err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("readSignals(%s) error = %v; want one saying %q", bad.name, err, bad.says)
		}
	}
}
