"""Prometheus counters of webhook outcomes: `voicesvc_webhooks_total{outcome, reason}`."""

from __future__ import annotations

from typing import Protocol

from prometheus_client import REGISTRY, CollectorRegistry, Counter

__all__ = ["NO_REASON", "WebhookMetrics", "WebhookOutcomes"]

NO_REASON = "none"


class WebhookOutcomes(Protocol):
    """What the webhook handler reports; implement it to count outcomes some other way."""

    def accepted(self) -> None:
        """A new event was stored."""

    def duplicate(self) -> None:
        """A redelivered event was acknowledged without storing it again."""

    def rejected(self, reason: str) -> None:
        """A delivery was refused (`reason` as in the JSON error body)."""


class WebhookMetrics:
    """`WebhookOutcomes` backed by one Counter registered in `registry` (the global one by default)."""

    def __init__(self, registry: CollectorRegistry | None = REGISTRY) -> None:
        self.total = Counter(
            "voicesvc_webhooks_total",
            "Webhook deliveries received, by outcome (accepted, duplicate, rejected) and rejection reason.",
            ["outcome", "reason"],
            registry=registry,
        )
        # Export the common series from the start, so rates work before the first webhook; their children
        # are bound once (a label look-up per webhook costs more than the increment).
        self._accepted = self.total.labels("accepted", NO_REASON)
        self._duplicate = self.total.labels("duplicate", NO_REASON)

    def accepted(self) -> None:
        """Count a stored event."""
        self._accepted.inc()

    def duplicate(self) -> None:
        """Count a redelivery."""
        self._duplicate.inc()

    def rejected(self, reason: str) -> None:
        """Count a refused delivery."""
        self.total.labels("rejected", reason).inc()
