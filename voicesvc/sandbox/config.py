"""Settings of one sandbox instance."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class SandboxConfig:
    """Behaviour knobs; every one has a CLI flag in `voicesvc.sandbox.cli`."""

    api_key: str | None = None
    """Bearer key clients must send; generated when None."""
    webhook_url: str | None = None
    """Where webhooks go when a call's connection is not a known application."""
    answer_delay_s: float = 1.0
    """Seconds between `call.initiated` and the far end answering (or being busy …)."""
    media_delay_s: float = 0.5
    """Seconds a playback, speech, gather or payment takes before its `…ended` webhook."""
    standard_webhooks: bool = False
    """Also sign with Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`)."""
    private_key: str | None = None
    """Base64 Ed25519 seed for webhook signatures; generated when None."""
    gather_digits: str = "1234"
    """Digits the simulated caller presses when a gather runs and no DTMF was injected."""
    webhook_attempts: int = 5
    """Delivery attempts per URL before giving up (or moving on to the failover URL)."""
    webhook_backoff_s: float = 0.5
    """First retry delay in seconds; doubles with every attempt."""
    webhook_timeout_s: float = 10.0
    """Seconds to wait for the receiver when the application sets no `webhook_timeout_secs`."""
    seed: int | None = None
    """Seed for the fault injector's random rates."""

    def __post_init__(self) -> None:
        for name in ("answer_delay_s", "media_delay_s", "webhook_backoff_s"):
            if not math.isfinite(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a finite number of seconds, 0 or more")
        if not math.isfinite(self.webhook_timeout_s) or self.webhook_timeout_s <= 0:
            raise ValueError("webhook_timeout_s must be a positive number of seconds")
        if self.webhook_attempts < 1:
            raise ValueError("webhook_attempts must be at least 1")
