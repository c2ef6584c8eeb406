"""Generated protobuf and gRPC stubs (make generate); never edit by hand."""
