"""How long the Telnyx client waits and how many connections it keeps: one validated value."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """Time limits of one REST attempt and the size of the keep-alive pool."""

    connect_timeout_s: float = 5.0
    """Limit for opening a connection."""
    request_timeout_s: float = 30.0
    """Limit of one attempt when the caller's deadline is later or unset."""
    max_connections: int = 100

    def __post_init__(self) -> None:
        for name in ("connect_timeout_s", "request_timeout_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name.removesuffix('_s')} must be a positive number of seconds")
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
