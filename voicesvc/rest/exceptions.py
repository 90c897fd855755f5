"""Exceptions raised by the Telnyx REST client.

None of them ever carries the API key: messages are built from the response status, Telnyx's error
objects (scrubbed by the client) and short failure descriptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_MAX_TEXT = 300


def clip(text: str, limit: int = _MAX_TEXT) -> str:
    """`text`, cut to at most `limit` characters (the last one an ellipsis when cut)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RestError(Exception):
    """Base class of every error raised by :class:`voicesvc.rest.TelnyxClient`."""


class TelnyxAPIError(RestError):
    """Telnyx answered with a non-2xx status (after any retries).

    ``errors`` holds Telnyx's error objects (``code``, ``title``, ``detail``, ``source``, ``meta``); a
    response without that envelope yields one synthetic error describing the body.
    """

    def __init__(
        self,
        status: int,
        errors: list[dict[str, Any]],
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.errors = errors
        self.retry_after = retry_after
        self.headers: Mapping[str, str] = headers if headers is not None else {}
        super().__init__(self.summary())

    def summary(self) -> str:
        """One human-readable line, e.g. ``Telnyx 422: Invalid value for to (must be E.164)``."""
        if not self.errors:
            return f"Telnyx {self.status}"
        first = self.errors[0]
        title = str(first.get("title") or "").strip()
        detail = str(first.get("detail") or "").strip()
        if title and detail and detail != title:
            text = f"{title} ({detail})"
        else:
            text = title or detail or f"error code {first.get('code', 'unknown')}"
        more = len(self.errors) - 1
        suffix = f" (+{more} more error{'s' if more > 1 else ''})" if more else ""
        return f"Telnyx {self.status}: {clip(text)}{suffix}"

    @property
    def codes(self) -> list[str]:
        """The Telnyx error codes present in the response, as strings."""
        return [str(e["code"]) for e in self.errors if e.get("code") not in (None, "")]

    def __repr__(self) -> str:
        return f"TelnyxAPIError(status={self.status}, codes={self.codes!r}, retry_after={self.retry_after!r})"


class UpstreamUnavailable(RestError):
    """Telnyx could not be reached, or the connection failed, and retries did not help."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"Telnyx unavailable: {reason}")

    def __repr__(self) -> str:
        return f"UpstreamUnavailable(reason={self.reason!r})"


class UpstreamDeadlineExceeded(RestError):
    """The caller's deadline, or the per-request timeout, expired before Telnyx answered."""

    def __init__(self, reason: str = "deadline exceeded") -> None:
        self.reason = reason
        super().__init__(f"Telnyx request timed out: {reason}")

    def __repr__(self) -> str:
        return f"UpstreamDeadlineExceeded(reason={self.reason!r})"


class UpstreamProtocolError(RestError):
    """Telnyx answered 2xx with a body that is not JSON; the outcome of the request is unknown."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"Telnyx {status}: unreadable response ({reason})")

    def __repr__(self) -> str:
        return f"UpstreamProtocolError(status={self.status}, reason={self.reason!r})"
