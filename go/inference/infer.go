package inference

import (
	"context"
	"encoding/binary"
	"fmt"

	inferencepb "github.com/sigop-dev/sigop/go/gen/inference"
)

// CallOption shapes one Infer call.
type CallOption func(*inferCall)

type inferCall struct {
	version, id string
	outputs     []*inferencepb.ModelInferRequest_InferRequestedOutputTensor
	params      map[string]any
	typed       bool
}

// Version asks for one version of the model ("": the server's choice, the newest on sigop).
func Version(v string) CallOption { return func(c *inferCall) { c.version = v } }

// RequestID sets the request's id, which the reply echoes.
func RequestID(id string) CallOption { return func(c *inferCall) { c.id = id } }

// Outputs asks for these outputs only (default: every output of the model).
func Outputs(names ...string) CallOption {
	return func(c *inferCall) {
		for _, n := range names {
			c.outputs = append(c.outputs, &inferencepb.ModelInferRequest_InferRequestedOutputTensor{Name: n})
		}
	}
}

// Classification asks for output as the k best classes, "score:index:label"
// strings read by Tensor.Classes (Triton's classification extension; 0: all
// classes on sigop).
func Classification(output string, k int) CallOption {
	return func(c *inferCall) {
		c.outputs = append(c.outputs, &inferencepb.ModelInferRequest_InferRequestedOutputTensor{
			Name: output, Parameters: map[string]*inferencepb.InferParameter{
				"classification": {ParameterChoice: &inferencepb.InferParameter_Int64Param{Int64Param: int64(k)}}},
		})
	}
}

// Parameter sets a request parameter (bool, int, int64, uint64, float64 or
// string), e.g. Parameter("sample_rate", 8000.0) for a sigop waveform model.
func Parameter(key string, value any) CallOption {
	return func(c *inferCall) {
		if c.params == nil {
			c.params = map[string]any{}
		}
		c.params[key] = value
	}
}

// TypedContents sends values in the typed fields of contents instead of raw
// bytes: slower, for servers that read only those.
func TypedContents() CallOption { return func(c *inferCall) { c.typed = true } }

// Result is a model's answer.
type Result struct {
	ModelName, ModelVersion, ID string
	Parameters                  map[string]any
	Outputs                     []*Tensor
}

// Output is the output named name.
func (r *Result) Output(name string) (*Tensor, error) {
	names := make([]string, len(r.Outputs))
	for i, t := range r.Outputs {
		if t.Name == name {
			return t, nil
		}
		names[i] = t.Name
	}
	return nil, fmt.Errorf("model %s gave no output %q; it gave %v", r.ModelName, name, names)
}

// Infer runs model on inputs. Errors are the server's gRPC status
// (status.Code(err): INVALID_ARGUMENT for bad input, NOT_FOUND for an
// unknown model …), or a local error for a malformed tensor or reply.
func (c *Client) Infer(ctx context.Context, model string, inputs []*Tensor, opts ...CallOption) (*Result, error) {
	var o inferCall
	for _, opt := range opts {
		opt(&o)
	}
	req := &inferencepb.ModelInferRequest{ModelName: model, ModelVersion: o.version, Id: o.id, Outputs: o.outputs}
	params, err := toParameters(o.params)
	if err != nil {
		return nil, err
	}
	req.Parameters = params
	for _, t := range inputs {
		in, raw, err := t.encode(o.typed)
		if err != nil {
			return nil, err
		}
		req.Inputs = append(req.Inputs, in)
		if !o.typed {
			req.RawInputContents = append(req.RawInputContents, raw)
		}
	}
	ctx, cancel := c.bound(ctx)
	defer cancel()
	resp, err := c.stub.ModelInfer(ctx, req)
	if err != nil {
		return nil, err
	}
	return decodeResult(resp)
}

func toParameters(m map[string]any) (map[string]*inferencepb.InferParameter, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]*inferencepb.InferParameter, len(m))
	for k, v := range m {
		p := &inferencepb.InferParameter{}
		switch v := v.(type) {
		case bool:
			p.ParameterChoice = &inferencepb.InferParameter_BoolParam{BoolParam: v}
		case int:
			p.ParameterChoice = &inferencepb.InferParameter_Int64Param{Int64Param: int64(v)}
		case int64:
			p.ParameterChoice = &inferencepb.InferParameter_Int64Param{Int64Param: v}
		case uint64:
			p.ParameterChoice = &inferencepb.InferParameter_Uint64Param{Uint64Param: v}
		case float64:
			p.ParameterChoice = &inferencepb.InferParameter_DoubleParam{DoubleParam: v}
		case string:
			p.ParameterChoice = &inferencepb.InferParameter_StringParam{StringParam: v}
		default:
			return nil, fmt.Errorf("parameter %q: a %T; expected bool, int, int64, uint64, float64 or string", k, v)
		}
		out[k] = p
	}
	return out, nil
}

func fromParameters(m map[string]*inferencepb.InferParameter) map[string]any {
	out := make(map[string]any, len(m))
	for k, p := range m {
		switch v := p.GetParameterChoice().(type) {
		case *inferencepb.InferParameter_BoolParam:
			out[k] = v.BoolParam
		case *inferencepb.InferParameter_Int64Param:
			out[k] = v.Int64Param
		case *inferencepb.InferParameter_Uint64Param:
			out[k] = v.Uint64Param
		case *inferencepb.InferParameter_DoubleParam:
			out[k] = v.DoubleParam
		case *inferencepb.InferParameter_StringParam:
			out[k] = v.StringParam
		}
	}
	return out
}

// encode is the request's tensor, and its raw bytes unless typed.
func (t *Tensor) encode(typed bool) (*inferencepb.ModelInferRequest_InferInputTensor, []byte, error) {
	if err := t.check(); err != nil {
		return nil, nil, err
	}
	params, err := toParameters(t.Parameters)
	if err != nil {
		return nil, nil, fmt.Errorf("input %q: %w", t.Name, err)
	}
	in := &inferencepb.ModelInferRequest_InferInputTensor{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape, Parameters: params}
	if !typed {
		if t.Datatype == "BYTES" {
			return in, packBytes(t.elems), nil
		}
		return in, t.raw, nil
	}
	in.Contents, err = t.typedContents()
	return in, nil, err
}

func packBytes(elems [][]byte) []byte {
	size := 0
	for _, e := range elems {
		size += 4 + len(e)
	}
	out := make([]byte, 0, size)
	for _, e := range elems {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(e)))
		out = append(out, e...)
	}
	return out
}

func unpackBytes(name string, raw []byte) ([][]byte, error) {
	var out [][]byte
	for len(raw) > 0 {
		if len(raw) < 4 {
			return nil, fmt.Errorf("output %q: raw BYTES end inside an element's length", name)
		}
		n := binary.LittleEndian.Uint32(raw)
		if uint64(n) > uint64(len(raw)-4) {
			return nil, fmt.Errorf("output %q: a raw BYTES element claims %d bytes past the end", name, n)
		}
		out = append(out, raw[4:4+n])
		raw = raw[4+n:]
	}
	return out, nil
}

func (t *Tensor) typedContents() (*inferencepb.InferTensorContents, error) {
	c := &inferencepb.InferTensorContents{}
	ints, _ := t.Int64s() // nil unless an integer type
	switch t.Datatype {
	case "BYTES":
		c.BytesContents = t.elems
	case "FP64":
		c.Fp64Contents, _ = t.Float64s()
	case "FP32":
		c.Fp32Contents, _ = t.Float32s()
	case "BOOL":
		c.BoolContents, _ = t.Bools()
	case "INT64":
		c.Int64Contents = ints
	case "UINT64":
		for _, v := range ints {
			c.Uint64Contents = append(c.Uint64Contents, uint64(v))
		}
	case "UINT8", "UINT16", "UINT32":
		for _, v := range ints {
			c.UintContents = append(c.UintContents, uint32(v))
		}
	case "INT8", "INT16", "INT32":
		for _, v := range ints {
			c.IntContents = append(c.IntContents, int32(v))
		}
	default:
		return nil, fmt.Errorf("input %q: %s has no typed contents; send it raw (without TypedContents)", t.Name, t.Datatype)
	}
	return c, nil
}

func decodeResult(resp *inferencepb.ModelInferResponse) (*Result, error) {
	r := &Result{ModelName: resp.ModelName, ModelVersion: resp.ModelVersion, ID: resp.Id, Parameters: fromParameters(resp.Parameters)}
	raw := resp.RawOutputContents
	if len(raw) > 0 && len(raw) != len(resp.Outputs) {
		return nil, fmt.Errorf("reply has %d raw_output_contents for %d outputs", len(raw), len(resp.Outputs))
	}
	for i, o := range resp.Outputs {
		t := &Tensor{Name: o.Name, Datatype: o.Datatype, Shape: o.Shape, Parameters: fromParameters(o.Parameters)}
		var err error
		switch {
		case len(raw) > 0 && o.Datatype == "BYTES":
			t.elems, err = unpackBytes(o.Name, raw[i])
		case len(raw) > 0:
			t.raw = raw[i]
		default:
			err = t.fromTyped(o.Contents)
		}
		if err == nil {
			err = t.check()
		}
		if err != nil {
			return nil, fmt.Errorf("reply: %w", err)
		}
		r.Outputs = append(r.Outputs, t)
	}
	return r, nil
}

// fromTyped fills the tensor's raw bytes (or elements) from typed contents.
func (t *Tensor) fromTyped(c *inferencepb.InferTensorContents) error {
	var values []uint64 // integers narrower than their typed field, kept as their low bytes
	switch t.Datatype {
	case "BYTES":
		t.elems = c.GetBytesContents()
		return nil
	case "FP64":
		t.raw = FP64("", nil, c.GetFp64Contents()).raw
		return nil
	case "FP32":
		t.raw = FP32("", nil, c.GetFp32Contents()).raw
		return nil
	case "BOOL":
		t.raw = BOOL("", nil, c.GetBoolContents()).raw
		return nil
	case "INT64":
		t.raw = INT64("", nil, c.GetInt64Contents()).raw
		return nil
	case "UINT64":
		values = c.GetUint64Contents()
	case "UINT8", "UINT16", "UINT32":
		for _, v := range c.GetUintContents() {
			values = append(values, uint64(v))
		}
	case "INT8", "INT16", "INT32":
		for _, v := range c.GetIntContents() {
			values = append(values, uint64(int64(v)))
		}
	default:
		return fmt.Errorf("output %q: datatype %q in typed contents", t.Name, t.Datatype)
	}
	size := itemSize[t.Datatype]
	t.raw = make([]byte, size*len(values))
	var word [8]byte
	for i, v := range values {
		binary.LittleEndian.PutUint64(word[:], v)
		copy(t.raw[i*size:], word[:size]) // little-endian: the low bytes are the narrow value
	}
	return nil
}
