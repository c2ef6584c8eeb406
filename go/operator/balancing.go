package operator

import (
	"github.com/sigop-dev/sigop/go/internal/dial"
)

// operatorService is the service whose methods a Client retries, and whose
// health it checks on each replica. Every sigop RPC is idempotent, so a retry
// can never apply a request twice.
const operatorService = "sigop.operator.v1.Operator"

// DialReplicas creates a Client that balances calls over several servers
// serving the same graphs/, with failover (see Dial for the options). For a
// changing set of replicas prefer a DNS name resolving to all of them, e.g.
// Dial("dns:///sigop-headless.default.svc:50051").
func DialReplicas(addrs []string, opts ...Option) (*Client, error) {
	target, resolve, err := dial.Replicas(addrs)
	if err != nil {
		return nil, err
	}
	return Dial(target, append([]Option{WithDialOptions(resolve)}, opts...)...)
}
