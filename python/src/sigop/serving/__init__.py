"""Serving: the gRPC server, its Operator service, the model repository and what keeps them up. Never imports training."""
