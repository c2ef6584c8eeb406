package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
)

// EmptyMethod is what bench/_empty_server.py serves: a unary call that
// takes and returns nothing, the floor of any Python gRPC call.
const EmptyMethod = "/sigop.bench.Empty/Call"

// runEmpty times sequential empty calls (the same way fft's latency is timed).
func runEmpty(args []string) error {
	fs := flag.NewFlagSet("empty", flag.ContinueOnError)
	addr := fs.String("addr", "", "the empty server's address")
	calls := fs.Int("calls", 2000, "sequential calls")
	method := fs.String("method", EmptyMethod, "the method to call with an empty message (e.g. /grpc.health.v1.Health/Check)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx := context.Background()
	times, err := timeCalls(func() error { return conn.Invoke(ctx, *method, &emptypb.Empty{}, &emptypb.Empty{}) }, *calls)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(Latency{Calls: *calls, P50: quantile(times, 0.5), P99: quantile(times, 0.99)})
}
