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

        # Children of the labelled metrics, looked up once per label set instead of once per observation
        # (the set of methods, codes and statuses is small and fixed).
        self._rpc_counts: dict[tuple[str, str], Counter] = {}
        self._rpc_latencies: dict[str, Histogram] = {}
        self._upstream_counts: dict[tuple[str, int], Counter] = {}
        self._upstream_latencies: dict[str, Histogram] = {}

    def observe_rpc(self, method: str, code: str, seconds: float) -> None:
        """Count one finished RPC by method and status code, and record its duration."""
        count = self._rpc_counts.get((method, code))
        if count is None:
            count = self._rpc_counts[method, code] = self.rpc_requests.labels(method=method, code=code)
        latency = self._rpc_latencies.get(method)
        if latency is None:
            latency = self._rpc_latencies[method] = self.rpc_latency.labels(method=method)
        count.inc()
        latency.observe(seconds)

    def observe_upstream(self, method: str, status: int, seconds: float) -> None:
        """Matches `voicesvc.rest.ResponseHook`."""
        count = self._upstream_counts.get((method, status))
        if count is None:
            count = self._upstream_counts[method, status] = self.upstream_requests.labels(
                method=method, status=str(status)
            )
        latency = self._upstream_latencies.get(method)
        if latency is None:
            latency = self._upstream_latencies[method] = self.upstream_latency.labels(method=method)
        count.inc()
        latency.observe(seconds)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
