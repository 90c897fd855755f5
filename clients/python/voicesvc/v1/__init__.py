"""Generated protobuf and gRPC stubs of the voicesvc.v1 contract. Regenerate with `make proto`."""
