"""Prometheus metrics of the service, kept in their own registry (one per running app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Spans fast local rejections up to slow upstream calls with retries.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """The service's counters and histograms."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.rpc_requests = Counter(
            "voicesvc_rpc_requests",
            "gRPC calls handled, by full method and final status code.",
            ["method", "code"],
            registry=self.registry,
        )
        self.rpc_latency = Histogram(
            "voicesvc_rpc_latency_seconds",
            "Time from receiving a gRPC call to its final status.",
            ["method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upstream_requests = Counter(
            "voicesvc_upstream_requests",
            "HTTP attempts sent to Telnyx, by HTTP method and status (0 when no response arrived).",
            ["method", "status"],
            registry=self.registry,
        )
        self.upstream_latency = Histogram(
            "voicesvc_upstream_latency_seconds",
            "Duration of one HTTP attempt to Telnyx.",
            ["method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )

        self.http_open_connections = Gauge(
            "voicesvc_http_open_connections",
            "Connections open on the HTTP port.",
            registry=self.registry,
        )
        self.http_connections_closed = Counter(
            "voicesvc_http_connections_closed",
            "HTTP connections the server closed to protect the port, by reason (header_timeout, "
            "body_timeout, evicted: the longest idle one made room at the connection limit, refused: the "
            "limit was reached with every connection in a request).",
            ["reason"],
            registry=self.registry,
        )

    def observe_rpc(self, method: str, code: str, seconds: float) -> None:
        """Count one finished RPC by method and status code, and record its duration."""
        self.rpc_requests.labels(method=method, code=code).inc()
        self.rpc_latency.labels(method=method).observe(seconds)

    def observe_upstream(self, method: str, status: int, seconds: float) -> None:
        """Matches `voicesvc.rest.ResponseHook`."""
        self.upstream_requests.labels(method=method, status=str(status)).inc()
        self.upstream_latency.labels(method=method).observe(seconds)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
