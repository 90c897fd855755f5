"""The running service: gRPC facade, HTTP endpoints, observability and lifecycle.

- `translate`: the one generic RPC → REST handler.
- `services`: gRPC handlers for every route of the contract, built from descriptors.
- `event_stream`, `event_convert`: the `WatchEvents` servicer; stored events → `Event` messages.
- `status`: every gRPC status the service reports, and `abort`, which ends an RPC with one.
- `interceptors`: request ids, caller authentication, request decoding, access log and metrics, as one
  server interceptor; `context` holds per-RPC facts.
- `metrics`, `logging`: Prometheus metrics and structlog JSON logs (with secret redaction).
- `http`: the aiohttp app (webhooks, health, readiness, metrics).
- `app`: wiring, start-up and graceful shutdown.
"""
