"""`RestRequest`: one logical Telnyx request, as the REST client takes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voicesvc.rest.retry import RetryMode


@dataclass(frozen=True, slots=True)
class RestRequest:
    """Exactly what is sent to Telnyx, relative to the API base URL, and how hard to try.

    ``path`` is already URL-encoded and starts with ``/``; ``query`` is a flat list of pairs whose keys
    are sent as given (``filter[occurred_at][gte]``), percent-encoded; ``body`` is sent as JSON when not
    None. ``deadline`` is an absolute ``time.monotonic()`` instant bounding every attempt and backoff sleep
    (None: only the client's per-attempt timeout applies). ``request_id`` only labels the attempts' logs.
    The method is kept upper-case.
    """

    method: str
    path: str
    retry_mode: RetryMode
    query: list[tuple[str, str]] = field(default_factory=list)
    body: dict[str, Any] | None = None
    deadline: float | None = None
    request_id: str | None = None

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError("path must start with '/'")
        object.__setattr__(self, "method", self.method.upper())
