"""Reading the service's Prometheus exposition the way a scraper does."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from voicesvc.server.metrics import Metrics


def sample_value(metrics: Metrics, name: str, **labels: str) -> float | None:
    """The value `/metrics` shows for sample `name` with exactly `labels`, or None when it shows none."""
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None
