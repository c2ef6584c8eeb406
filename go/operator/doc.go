// Package operator runs signal operators, such as the FFT, the way the
// original article's Go code did: through the Operator interface.
//
// Two implementations satisfy it:
//
//   - Client calls a sigop server over gRPC; the numbers come from a frozen
//     TensorFlow graph that the server loaded, and no cgo is involved.
//   - Local computes the same results in pure Go with gonum's dsp/fourier, for
//     programs that run without a server and for tests that hold the two
//     against each other.
//
// Spectra are one-sided and unnormalised: for a real signal x of length n,
// X[k] = sum_t x[t] * exp(-2*pi*i*k*t/n) for k = 0 .. n/2 (n/2+1 values).
// FFT returns |X[k]|; Spectrum returns X[k].
//
// Both implementations report bad input (an empty or non-finite signal, a
// ragged batch) as an error carrying gRPC status code InvalidArgument, so
// callers can use status.Code(err) whichever implementation they hold.
package operator
