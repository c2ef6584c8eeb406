// Package inference is a cgo-free client for the Open Inference Protocol
// (KServe's "V2" protocol, the gRPC service inference.GRPCInferenceService),
// which sigop serve speaks beside its own Operator service, and which
// Triton, KServe, MLServer, Seldon Core v2 and OpenVINO Model Server speak
// too: the same code calls any of them.
//
//	c, err := inference.Dial("127.0.0.1:50051") // options as operator.Dial: TLS, token, replicas
//	defer c.Close()
//	ready, err := c.ModelReady(ctx, "article", "")
//	meta, err := c.ModelMetadata(ctx, "article", "")
//	r, err := c.Infer(ctx, "article", []*inference.Tensor{inference.FP64Rows("signals", rows)})
//	p, err := r.Output("probabilities")
//	scores, err := p.Float32s() // [len(rows) * labels], row-major; p.Shape says how
//
// Tensors travel as raw little-endian bytes (raw_input_contents), the fast
// form every server reads; TypedContents sends the typed fields instead.
// Replies are read from whichever form the server chose. Triton's
// classification extension is Classification (and Tensor.Classes to read
// its "score:index:label" strings).
package inference
