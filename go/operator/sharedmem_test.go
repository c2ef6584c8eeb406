//go:build linux

package operator

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	operatorv1 "github.com/sigop-dev/sigop/go/gen/sigop/operator/v1"
)

func TestSharedTensorRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m, err := mapFile(dir, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer m.release()
	if _, err := os.Stat(filepath.Join(dir, m.key)); err != nil {
		t.Fatalf("the region's file: %v", err)
	}
	m.unlink()
	if _, err := os.Stat(filepath.Join(dir, m.key)); !os.IsNotExist(err) {
		t.Fatalf("after unlink, stat says %v", err)
	}
	rows := [][]float64{{1, 2, 3}, {4, 5, 6}}
	tensor := sharedTensor(m, rows, []int64{2, 3})
	if tensor.GetContent() != nil || tensor.GetSharedMemory().GetByteSize() != 48 || tensor.GetSharedMemory().GetRegion() != m.key {
		t.Fatalf("tensor %v", tensor)
	}
	got, err := sharedRows(m, &operatorv1.Float64Tensor{Shape: []int64{2, 3}, SharedMemory: tensor.GetSharedMemory()}, 2, 3)
	if err != nil || !slices.Equal(got[0], rows[0]) || !slices.Equal(got[1], rows[1]) {
		t.Fatalf("read back %v, %v", got, err)
	}
}

func TestSharedRowsRefuseWhatIsNotTheCallsRegion(t *testing.T) {
	m, err := mapFile(t.TempDir(), 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer m.release()
	for _, ref := range []*operatorv1.SharedMemoryRef{
		nil,
		{Region: "another", ByteSize: 8},
		{Region: m.key, Offset: 4096, ByteSize: 8},
		{Region: m.key, Offset: 1 << 63, ByteSize: 1 << 63}, // wraps around uint64
		{Region: m.key, ByteSize: 16},                       // not the 8 bytes of one value
	} {
		if _, err := sharedRows(m, &operatorv1.Float64Tensor{Shape: []int64{1}, SharedMemory: ref}, 1, 1); err == nil {
			t.Errorf("a response pointing at %v was read", ref)
		}
	}
}
