"""voicesvc: a gRPC facade over the Telnyx Voice API (Call Control)."""
