"""The request journal: every REST request the sandbox received, for tests to assert on."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from voicesvc.sandbox.ids import iso, now

_HIDDEN_HEADERS = frozenset({"authorization", "cookie"})


@dataclass
class JournalEntry:
    """One received request. `body` is the parsed JSON (None when absent, unread or not JSON)."""

    seq: int
    received_at: str
    method: str
    path: str
    query_string: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any = None
    raw_body: str | None = None
    status: int | None = None
    faults: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the admin API."""
        data = asdict(self)
        data["query"] = [list(pair) for pair in self.query]
        return data


class RequestJournal:
    """A bounded, ordered log of received requests."""

    def __init__(self, limit: int = 10_000):
        self._entries: deque[JournalEntry] = deque(maxlen=limit)
        self._seq = itertools.count(1)

    def record(
        self, method: str, path: str, query_string: str, query: list[tuple[str, str]], headers: dict[str, str]
    ) -> JournalEntry:
        """Start an entry for a request whose body has not been read yet."""
        entry = JournalEntry(
            seq=next(self._seq),
            received_at=iso(now()),
            method=method,
            path=path,
            query_string=query_string,
            query=query,
            headers={k: v for k, v in headers.items() if k.lower() not in _HIDDEN_HEADERS},
        )
        self._entries.append(entry)
        return entry

    def entries(self, path: str | None = None, method: str | None = None) -> list[JournalEntry]:
        """Entries, oldest first, optionally only those whose path contains `path` / with `method`."""
        return [
            e
            for e in self._entries
            if (path is None or path in e.path) and (method is None or e.method == method.upper())
        ]

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()
