package operator

import (
	"fmt"
	"sync/atomic"

	"google.golang.org/grpc"
	_ "google.golang.org/grpc/health" // client-side health checking, used by serviceConfig
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// serviceConfig spreads calls over every address the target resolves to
// (round_robin), skips replicas whose health service does not say SERVING
// (warming up, draining), and retries UNAVAILABLE — a replica that died or
// refused — on another one. Every sigop RPC is idempotent, so a retry can
// never apply a request twice.
//
// gRPC buffers at most 256 KiB of a request for retries, so larger requests
// (FFT of more than ~32 K samples) fail over only while not yet sent.
const serviceConfig = `{
  "loadBalancingConfig": [{"round_robin": {}}],
  "healthCheckConfig": {"serviceName": "sigop.operator.v1.Operator"},
  "methodConfig": [{
    "name": [{"service": "sigop.operator.v1.Operator"}],
    "retryPolicy": {
      "maxAttempts": 5,
      "initialBackoff": "0.05s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}`

var replicaSchemes atomic.Int64

// DialReplicas creates a Client that balances calls over several servers
// serving the same graphs/, with failover (see Dial for the options). For a
// changing set of replicas prefer a DNS name resolving to all of them, e.g.
// Dial("dns:///sigop-headless.default.svc:50051").
func DialReplicas(addrs []string, opts ...Option) (*Client, error) {
	if len(addrs) == 0 {
		return nil, fmt.Errorf("sigop: DialReplicas needs at least one address")
	}
	r := manual.NewBuilderWithScheme(fmt.Sprintf("sigop-replicas-%d", replicaSchemes.Add(1)))
	state := resolver.State{}
	for _, a := range addrs {
		state.Addresses = append(state.Addresses, resolver.Address{Addr: a})
	}
	r.InitialState(state)
	return Dial(r.Scheme()+":///replicas", append([]Option{WithDialOptions(grpc.WithResolvers(r))}, opts...)...)
}
