"""Prometheus metrics of the service, kept in their own registry (one per running app)."""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

# Spans fast local rejections up to slow upstream calls with retries.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class _Histogram:
    """One label set's histogram: a count per bucket (not cumulative; the last is +Inf) and the sum."""

    __slots__ = ("counts", "created", "total")

    def __init__(self, buckets: int) -> None:
        self.counts = [0] * (buckets + 1)
        self.total = 0.0
        self.created = time.time()


class CountAndLatency(Collector):
    """A counter by one set of labels and a latency histogram by a prefix of them, exposed exactly as
    prometheus_client's `Counter` and `Histogram` expose them (with their `_created` series).

    They are updated for every RPC and every REST attempt. prometheus_client takes a lock for each of the
    four updates that makes (2 µs of the call); these are plain numbers, because they are only updated and
    read on the event loop's thread.
    """

    def __init__(
        self,
        counter: tuple[str, str],
        histogram: tuple[str, str],
        labels: Sequence[str],
        histogram_labels: int,
        buckets: Sequence[float] = _LATENCY_BUCKETS,
    ) -> None:
        self._counter_name, self._counter_help = counter
        self._histogram_name, self._histogram_help = histogram
        self._labels = tuple(labels)
        self._histogram_labels = self._labels[:histogram_labels]
        self._bounds = tuple(buckets)
        # The `le` labels as prometheus_client writes them ("0.005", "1.0", "+Inf").
        self._le = tuple(floatToGoString(b) for b in (*self._bounds, float("inf")))  # type: ignore[no-untyped-call]
        self._counts: dict[tuple[str, ...], list[float]] = {}  # labels -> [count, created]
        self._histograms: dict[tuple[str, ...], _Histogram] = {}

    def observe(self, labels: tuple[str, ...], seconds: float) -> None:
        """Count one event with `labels` (values in the order of the label names) that took `seconds`."""
        count = self._counts.get(labels)
        if count is None:
            count = self._counts[labels] = [0, time.time()]
        count[0] += 1
        key = labels[: len(self._histogram_labels)]
        histogram = self._histograms.get(key)
        if histogram is None:
            histogram = self._histograms[key] = _Histogram(len(self._bounds))
        # A value on a bound belongs to that bound's bucket (`le`).
        histogram.counts[bisect_left(self._bounds, seconds)] += 1
        histogram.total += seconds

    def collect(self) -> Iterator[Metric]:
        """The two families, as the registry renders them."""
        counter = Metric(self._counter_name, self._counter_help, "counter")
        for values, (count, created) in self._counts.items():
            labels = dict(zip(self._labels, values, strict=True))
            counter.add_sample(self._counter_name + "_total", labels, float(count))
            counter.add_sample(self._counter_name + "_created", labels, created)
        yield counter
        histogram = Metric(self._histogram_name, self._histogram_help, "histogram")
        name = self._histogram_name
        for values, series in self._histograms.items():
            labels = dict(zip(self._histogram_labels, values, strict=True))
            cumulative = 0
            for le, count in zip(self._le, series.counts, strict=True):
                cumulative += count
                histogram.add_sample(name + "_bucket", {**labels, "le": le}, float(cumulative))
            histogram.add_sample(name + "_count", labels, float(cumulative))
            histogram.add_sample(name + "_sum", labels, series.total)
            histogram.add_sample(name + "_created", labels, series.created)
        yield histogram


class Metrics:
    """The service's counters and histograms."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.rpcs = CountAndLatency(
            ("voicesvc_rpc_requests", "gRPC calls handled, by full method and final status code."),
            ("voicesvc_rpc_latency_seconds", "Time from receiving a gRPC call to its final status."),
            labels=("method", "code"),
            histogram_labels=1,
        )
        self.upstream = CountAndLatency(
            (
                "voicesvc_upstream_requests",
                "HTTP attempts sent to Telnyx, by HTTP method and status (0 when no response arrived).",
            ),
            ("voicesvc_upstream_latency_seconds", "Duration of one HTTP attempt to Telnyx."),
            labels=("method", "status"),
            histogram_labels=1,
        )
        self.registry.register(self.rpcs)
        self.registry.register(self.upstream)

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
        self.rpcs.observe((method, code), seconds)

    def observe_upstream(self, method: str, status: int, seconds: float) -> None:
        """Matches `voicesvc.rest.ResponseHook`."""
        self.upstream.observe((method, str(status)), seconds)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
