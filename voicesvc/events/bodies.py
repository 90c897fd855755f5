"""The parsed bodies of the webhooks this process accepted last, for readers of the log in the same process.

Ingress parses every webhook; the calls projection and the stream converter read the same event moments
later and would parse its stored text again. They look it up here instead: an entry is found only for the
very text it was parsed from (a copy stored by another replica, or a redelivery with another body, is parsed
as before). Readers share the parsed objects and must not modify them.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

__all__ = ["RecentBodies"]


class RecentBodies:
    """At most `max_count` parsed bodies of at most `max_bytes` bytes of text, the oldest dropped first."""

    def __init__(self, max_count: int = 256, max_bytes: int = 4 << 20) -> None:
        if max_count < 1 or max_bytes < 1:
            raise ValueError("max_count and max_bytes must be positive")
        self._max_count = max_count
        self._max_bytes = max_bytes
        self._bodies: OrderedDict[str, tuple[bytes, dict[str, Any]]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        """How many bodies are kept."""
        return len(self._bodies)

    def keep(self, event_id: str, raw: bytes, body: dict[str, Any]) -> None:
        """Remember `body`, parsed from `raw`, the text of the event `event_id`."""
        previous = self._bodies.pop(event_id, None)
        if previous is not None:
            self._bytes -= len(previous[0])
        if len(raw) > self._max_bytes:
            return
        self._bodies[event_id] = (raw, body)
        self._bytes += len(raw)
        while self._bytes > self._max_bytes or len(self._bodies) > self._max_count:
            _, (dropped, _) = self._bodies.popitem(last=False)
            self._bytes -= len(dropped)

    def get(self, event_id: str, raw: bytes) -> dict[str, Any] | None:
        """The body kept for `event_id` if it was parsed from `raw`, else None."""
        kept = self._bodies.get(event_id)
        if kept is None or (kept[0] is not raw and kept[0] != raw):
            return None
        return kept[1]
