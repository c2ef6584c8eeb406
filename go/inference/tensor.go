package inference

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Tensor is one input or output: a name, a datatype (FP64, FP32, INT64,
// UINT8, BOOL, BYTES …), a shape, and its values, kept as the protocol's raw
// little-endian bytes (or, for BYTES, the elements). Build inputs with FP64,
// FP32, FP64Rows, INT64, INT32, UINT8, BOOL, BYTES or Raw; read outputs with
// Float64s, Float32s, Int64s, Bools, Bytes, Strings or Classes.
type Tensor struct {
	Name       string
	Datatype   string
	Shape      []int64
	Parameters map[string]any // bool, int, int64, uint64, float64 or string
	raw        []byte
	elems      [][]byte
	err        error // a constructor's complaint, reported by Infer
}

// itemSize is each datatype's bytes per element (BYTES: variable).
var itemSize = map[string]int{
	"BOOL": 1, "UINT8": 1, "INT8": 1, "UINT16": 2, "INT16": 2, "FP16": 2, "BF16": 2,
	"UINT32": 4, "INT32": 4, "FP32": 4, "UINT64": 8, "INT64": 8, "FP64": 8,
}

// FP64 is a float64 tensor of shape (row-major values).
func FP64(name string, shape []int64, values []float64) *Tensor {
	raw := make([]byte, 8*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(v))
	}
	return Raw(name, "FP64", shape, raw)
}

// FP64Rows is rows of equal length as one [len(rows), n] FP64 tensor, e.g. signals.
func FP64Rows(name string, rows [][]float64) *Tensor {
	n := 0
	if len(rows) > 0 {
		n = len(rows[0])
	}
	flat := make([]float64, 0, len(rows)*n)
	for i, r := range rows {
		if len(r) != n {
			return &Tensor{Name: name, Datatype: "FP64", err: fmt.Errorf("input %q: row %d has %d values, row 0 has %d; rows must be of equal length", name, i, len(r), n)}
		}
		flat = append(flat, r...)
	}
	return FP64(name, []int64{int64(len(rows)), int64(n)}, flat)
}

// FP32 is a float32 tensor of shape.
func FP32(name string, shape []int64, values []float32) *Tensor {
	raw := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return Raw(name, "FP32", shape, raw)
}

// INT64 is an int64 tensor of shape.
func INT64(name string, shape []int64, values []int64) *Tensor {
	raw := make([]byte, 8*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return Raw(name, "INT64", shape, raw)
}

// INT32 is an int32 tensor of shape.
func INT32(name string, shape []int64, values []int32) *Tensor {
	raw := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(raw[4*i:], uint32(v))
	}
	return Raw(name, "INT32", shape, raw)
}

// UINT8 is a uint8 tensor of shape, e.g. image pixels [batch, h, w, 3].
func UINT8(name string, shape []int64, values []uint8) *Tensor {
	return Raw(name, "UINT8", shape, append([]byte(nil), values...))
}

// BOOL is a bool tensor of shape.
func BOOL(name string, shape []int64, values []bool) *Tensor {
	raw := make([]byte, len(values))
	for i, v := range values {
		if v {
			raw[i] = 1
		}
	}
	return Raw(name, "BOOL", shape, raw)
}

// BYTES is a tensor of byte strings (encoded images, sound files, text) of shape.
func BYTES(name string, shape []int64, values [][]byte) *Tensor {
	return &Tensor{Name: name, Datatype: "BYTES", Shape: shape, elems: values}
}

// Raw is a tensor of any fixed-size datatype from its little-endian bytes (FP16 and BF16 too).
func Raw(name, datatype string, shape []int64, raw []byte) *Tensor {
	return &Tensor{Name: name, Datatype: datatype, Shape: shape, raw: raw}
}

// Count is the number of elements the shape holds, or an error for a negative dimension.
func (t *Tensor) Count() (int, error) {
	n := 1
	for _, d := range t.Shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/int(d)) {
			return 0, fmt.Errorf("tensor %q: shape %v; expected dimensions >= 0 holding at most 2^31 elements", t.Name, t.Shape)
		}
		n *= int(d)
	}
	return n, nil
}

// check says whether the values fit the datatype and shape.
func (t *Tensor) check() error {
	if t.err != nil {
		return t.err
	}
	n, err := t.Count()
	if err != nil {
		return err
	}
	if t.Datatype == "BYTES" {
		if len(t.elems) != n {
			return fmt.Errorf("tensor %q: %d BYTES elements for shape %v, which holds %d", t.Name, len(t.elems), t.Shape, n)
		}
		return nil
	}
	size, ok := itemSize[t.Datatype]
	if !ok {
		return fmt.Errorf("tensor %q: datatype %q is not one of the protocol's", t.Name, t.Datatype)
	}
	if len(t.raw) != n*size {
		return fmt.Errorf("tensor %q: %d bytes of %s for shape %v, which needs %d", t.Name, len(t.raw), t.Datatype, t.Shape, n*size)
	}
	return nil
}

func (t *Tensor) is(datatypes ...string) error {
	if err := t.check(); err != nil {
		return err
	}
	for _, d := range datatypes {
		if t.Datatype == d {
			return nil
		}
	}
	return fmt.Errorf("tensor %q is %s; expected %s", t.Name, t.Datatype, strings.Join(datatypes, " or "))
}

// Float64s is the values as float64: FP64 exactly, FP32 and integers converted.
func (t *Tensor) Float64s() ([]float64, error) {
	switch t.Datatype {
	case "FP64":
		if err := t.is("FP64"); err != nil {
			return nil, err
		}
		out := make([]float64, len(t.raw)/8)
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.raw[8*i:]))
		}
		return out, nil
	case "FP32":
		f, err := t.Float32s()
		out := make([]float64, len(f))
		for i, v := range f {
			out[i] = float64(v)
		}
		return out, err
	}
	ints, err := t.Int64s()
	if err != nil {
		return nil, fmt.Errorf("tensor %q is %s; expected a number type", t.Name, t.Datatype)
	}
	out := make([]float64, len(ints))
	for i, v := range ints {
		out[i] = float64(v)
	}
	return out, nil
}

// Float32s is the values of an FP32 tensor.
func (t *Tensor) Float32s() ([]float32, error) {
	if err := t.is("FP32"); err != nil {
		return nil, err
	}
	out := make([]float32, len(t.raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.raw[4*i:]))
	}
	return out, nil
}

// Int64s is the values of any integer tensor (UINT64 above 2^63 wraps).
func (t *Tensor) Int64s() ([]int64, error) {
	if err := t.is("INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"); err != nil {
		return nil, err
	}
	size := itemSize[t.Datatype]
	out := make([]int64, len(t.raw)/size)
	le := binary.LittleEndian
	for i := range out {
		b := t.raw[size*i:]
		switch t.Datatype {
		case "INT8":
			out[i] = int64(int8(b[0]))
		case "UINT8":
			out[i] = int64(b[0])
		case "INT16":
			out[i] = int64(int16(le.Uint16(b)))
		case "UINT16":
			out[i] = int64(le.Uint16(b))
		case "INT32":
			out[i] = int64(int32(le.Uint32(b)))
		case "UINT32":
			out[i] = int64(le.Uint32(b))
		default:
			out[i] = int64(le.Uint64(b))
		}
	}
	return out, nil
}

// Bools is the values of a BOOL tensor.
func (t *Tensor) Bools() ([]bool, error) {
	if err := t.is("BOOL"); err != nil {
		return nil, err
	}
	out := make([]bool, len(t.raw))
	for i, b := range t.raw {
		out[i] = b != 0
	}
	return out, nil
}

// Bytes is the elements of a BYTES tensor.
func (t *Tensor) Bytes() ([][]byte, error) {
	if err := t.is("BYTES"); err != nil {
		return nil, err
	}
	return t.elems, nil
}

// Strings is the elements of a BYTES tensor as strings.
func (t *Tensor) Strings() ([]string, error) {
	b, err := t.Bytes()
	out := make([]string, len(b))
	for i, v := range b {
		out[i] = string(v)
	}
	return out, err
}

// RawContents is the little-endian bytes of a fixed-size tensor (nil for BYTES).
func (t *Tensor) RawContents() []byte { return t.raw }

// Class is one entry of the classification extension's "score:index:label".
type Class struct {
	Score float64
	Index int
	Label string
}

// Classes reads an output asked for with Classification: each input's k
// best classes, best first (Label is empty where the server has no labels).
func (t *Tensor) Classes() ([][]Class, error) {
	s, err := t.Strings()
	if err != nil {
		return nil, err
	}
	if len(t.Shape) == 0 || len(t.Shape) > 2 {
		return nil, fmt.Errorf("tensor %q: shape %v; classification gives [k] or [batch, k]", t.Name, t.Shape)
	}
	k := int(t.Shape[len(t.Shape)-1])
	var out [][]Class
	for row := 0; row*k < len(s) && k > 0; row++ {
		var classes []Class
		for _, entry := range s[row*k : (row+1)*k] {
			parts := append(strings.SplitN(entry, ":", 3), "") // a server without labels sends score:index
			if len(parts) < 3 {
				return nil, fmt.Errorf("tensor %q: %q is not score:index:label", t.Name, entry)
			}
			score, err1 := strconv.ParseFloat(parts[0], 64)
			index, err2 := strconv.Atoi(parts[1])
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("tensor %q: %q is not score:index:label", t.Name, entry)
			}
			classes = append(classes, Class{score, index, parts[2]})
		}
		out = append(out, classes)
	}
	return out, nil
}
