"""The RPC and upstream metrics, kept as plain numbers, render exactly as prometheus_client's own Counter and
Histogram render the same observations."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from voicesvc.server.metrics import _LATENCY_BUCKETS, CountAndLatency, Metrics

# Values on a bucket's bound, between bounds, past the last bound, and zero.
OBSERVED = [
    (("/a.B/Get", "OK"), 0.005),
    (("/a.B/Get", "OK"), 0.0051),
    (("/a.B/Get", "NOT_FOUND"), 0.0),
    (("/a.B/Get", "OK"), 60.0),
    (("/a.B/Get", "UNAVAILABLE"), 61.5),
    (("/a.B/Dial", "OK"), 0.25),
]


def _without_creation_times(text: str) -> str:
    return re.sub(r"(_created\{[^}]*\}) \S+", r"\1 T", text)


def test_the_exposition_is_prometheus_clients_own() -> None:
    ours = CollectorRegistry()
    counts = CountAndLatency(
        ("calls", "Calls by method and code."),
        ("calls_latency_seconds", "Call duration."),
        labels=("method", "code"),
        histogram_labels=1,
    )
    ours.register(counts)
    theirs = CollectorRegistry()
    counter = Counter("calls", "Calls by method and code.", ["method", "code"], registry=theirs)
    histogram = Histogram(
        "calls_latency_seconds", "Call duration.", ["method"], buckets=_LATENCY_BUCKETS, registry=theirs
    )
    for labels, seconds in OBSERVED:
        counts.observe(labels, seconds)
        counter.labels(*labels).inc()
        histogram.labels(labels[0]).observe(seconds)
    rendered = generate_latest(ours).decode()
    assert _without_creation_times(rendered) == _without_creation_times(generate_latest(theirs).decode())
    assert 'calls_latency_seconds_bucket{le="0.005",method="/a.B/Get"} 2.0' in rendered
    assert 'calls_latency_seconds_bucket{le="60.0",method="/a.B/Get"} 4.0' in rendered
    assert 'calls_latency_seconds_bucket{le="+Inf",method="/a.B/Get"} 5.0' in rendered


def test_the_service_metrics_count_rpcs_and_upstream_attempts() -> None:
    metrics = Metrics()
    metrics.observe_rpc("/voicesvc.v1.CallControl/GetCallStatus", "OK", 0.002)
    metrics.observe_upstream("GET", 200, 0.001)
    metrics.observe_upstream("GET", 0, 0.03)
    text = metrics.render().decode()
    assert (
        'voicesvc_rpc_requests_total{code="OK",method="/voicesvc.v1.CallControl/GetCallStatus"} 1.0' in text
    )
    assert 'voicesvc_upstream_requests_total{method="GET",status="0"} 1.0' in text
    assert 'voicesvc_upstream_latency_seconds_count{method="GET"} 2.0' in text
    assert "# TYPE voicesvc_rpc_latency_seconds histogram" in text
