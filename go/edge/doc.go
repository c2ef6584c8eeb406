// Package edge runs exported sigop models inside a Go program: no server,
// no Python, no cgo, no gRPC.
//
// Open reads a model folder as `sigop train` exports it (manifest.json and
// minirocket.npz; graph.pb is not needed on the device) and returns a Model
// that implements classify.Classifier, as operator.Client does, so a program
// moves between a server and the device by changing one constructor:
//
//	var c classify.Classifier
//	c, err := edge.Open("models/plaid/3")          // on the device
//	// c, err := operator.Dial("server:50051", ...) // or over the network
//	res, err := c.ClassifySignals(ctx, signals)
//
// MiniRocket models run here: one channel or several, one-class (anomaly)
// models, their unknown score and threshold, top-k, and streams (Watch) with
// the server's windows, smoothing and events. Features are computed in
// float32 in the order the server's compiled runtime adds them, so they
// agree to the bit; the ridge head is summed in float64 (the server's BLAS
// sums in float32 in an order of its own), so probabilities agree to about
// 1e-6. Networks (the CNN recipes, spectrum-image transfer models) run on
// TensorFlow: Open refuses them naming the recipe and the server.
//
// Signals are taken at the model's own rate: resampling (soxr on the server)
// is not done here, and another rate is refused naming both.
package edge
