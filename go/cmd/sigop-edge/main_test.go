package main

import (
	"os/exec"
	"strings"
	"testing"
)

// A device program that imports only edge carries neither gRPC nor protobuf.
func TestImportsNeitherGRPCNorProtobuf(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	deps := string(out)
	if !strings.Contains(deps, "github.com/sigop-dev/sigop/go/edge") {
		t.Fatalf("go list -deps does not list the edge package:\n%s", deps)
	}
	for _, banned := range []string{"google.golang.org/grpc", "google.golang.org/protobuf", "/go/operator"} {
		if strings.Contains(deps, banned) {
			t.Errorf("sigop-edge depends on %s", banned)
		}
	}
}

func TestReadChunksSamplesSkipsAHeaderAndNamesAWrongRow(t *testing.T) {
	chunks := make(chan [][]float64, 8)
	err := read(strings.NewReader("x,y,z\n1,2,3\n4 5 6\n\n7;8;9\n"), 3, 2, chunks)
	if err != nil {
		t.Fatal(err)
	}
	var got [][][]float64
	for c := range chunks {
		got = append(got, c)
	}
	if len(got) != 2 || len(got[0][0]) != 2 || got[0][2][1] != 6 || got[1][0][0] != 7 {
		t.Fatalf("chunks %v; want [[1 4] [2 5] [3 6]] then [[7] [8] [9]]", got)
	}
	err = read(strings.NewReader("1,2,3\n4,5\n"), 3, 1, make(chan [][]float64, 8))
	if err == nil || !strings.Contains(err.Error(), "line 2 has 2 values; the model takes 3 channels") {
		t.Fatalf("a short row: %v", err)
	}
	err = read(strings.NewReader("1,2,3\nx,y,z\n"), 3, 1, make(chan [][]float64, 8))
	if err == nil || !strings.Contains(err.Error(), `line 2: "x,y,z" is not numbers`) {
		t.Fatalf("text after the first line: %v", err)
	}
}
