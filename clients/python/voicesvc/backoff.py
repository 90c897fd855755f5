"""Exponential backoff: the one formula behind REST retries, client reconnects and sandbox webhook retries."""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

# Beyond this exponent the ceiling is `max_s` for any multiplier > 1; capping it keeps the power finite.
_MAX_EXPONENT = 1024


class Jitter(enum.Enum):
    """How a wait is randomised below its ceiling.

    ``FULL``: uniform in ``[0, ceiling]`` (spreads many clients the most). ``EQUAL``: uniform in
    ``[ceiling / 2, ceiling]`` (never much shorter than planned). ``NONE``: exactly the ceiling.
    """

    FULL = "full"
    EQUAL = "equal"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits growing by ``multiplier`` from ``initial_s`` up to ``max_s``, randomised by ``jitter``.

    The ceiling of retry ``n`` (``n`` starting at 1) is ``min(max_s, initial_s * multiplier ** (n - 1))``.
    """

    initial_s: float
    max_s: float
    multiplier: float = 2.0
    jitter: Jitter = Jitter.FULL

    def __post_init__(self) -> None:
        if self.initial_s < 0 or self.max_s < 0:
            raise ValueError("backoff durations must not be negative")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")

    def ceiling_s(self, retry_number: int) -> float:
        """The longest wait before retry ``retry_number`` (1 for the first retry)."""
        if retry_number < 1:
            raise ValueError("retry_number starts at 1")
        exponent = min(retry_number - 1, _MAX_EXPONENT)
        try:
            grown = self.initial_s * self.multiplier**exponent
        except OverflowError:
            grown = math.inf if self.initial_s > 0 else 0.0
        return min(self.max_s, grown)

    def delay_s(self, retry_number: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry); ``rand`` gives [0, 1)."""
        ceiling = self.ceiling_s(retry_number)
        if self.jitter is Jitter.FULL:
            return rand() * ceiling
        if self.jitter is Jitter.EQUAL:
            half = ceiling / 2
            return half + rand() * half
        return ceiling
