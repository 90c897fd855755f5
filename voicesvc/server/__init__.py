"""The running service: gRPC facade, HTTP endpoints, observability and lifecycle.

- `translate`: the one generic RPC → REST handler.
- `services`: gRPC handlers for every route of the contract, built from descriptors.
- `interceptors`: request ids, access log, metrics, caller authentication; `context` holds per-RPC facts.
- `metrics`, `logging`: Prometheus metrics and structlog JSON logs (with secret redaction).
- `http`: the aiohttp app (webhooks, health, readiness, metrics).
- `app`: wiring, start-up and graceful shutdown.
"""
