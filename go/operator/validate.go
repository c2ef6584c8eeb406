package operator

import (
	"fmt"
	"math"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// checkBatch applies the checks the server applies, with the same status
// code, so Local and Client fail alike. It returns the common length n.
func checkBatch(inputs [][]float64) (int, error) {
	if len(inputs) == 0 {
		return 0, status.Error(codes.InvalidArgument, "signals: empty batch; expected at least one signal of n >= 1 samples")
	}
	n := len(inputs[0])
	for i, x := range inputs {
		if len(x) != n {
			return 0, status.Errorf(codes.InvalidArgument,
				"signals: signal %d has %d samples but signal 0 has %d; ragged batches are not allowed", i, len(x), n)
		}
	}
	if n == 0 {
		return 0, status.Error(codes.InvalidArgument, "signals: signal is empty; expected n >= 1 samples")
	}
	return n, nil
}

// checkFinite reports the first NaN or Inf.
func checkFinite(inputs [][]float64) error {
	for i, x := range inputs {
		for j, v := range x {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				where := fmt.Sprintf("sample %d", j)
				if len(inputs) > 1 {
					where = fmt.Sprintf("signal %d, sample %d", i, j)
				}
				return status.Errorf(codes.InvalidArgument, "signals: %s is %v; expected finite values (no NaN or Inf)", where, v)
			}
		}
	}
	return nil
}
