"""One place that turns NATS client failures into the event log's own errors."""

from __future__ import annotations

from types import TracebackType
from typing import Literal

import nats.js.errors

from voicesvc.events.log import EventLogError, LogUnavailable

__all__ = ["mapped_errors"]


class mapped_errors:
    """Raise `LogUnavailable("<what>: <error>")` for any exception the block raises (NATS, OS, timeouts).

    The event log's own errors (`LogUnavailable`, `LogClosed`, `CursorExpired`, ...) pass unchanged, and so
    do cancellation and other `BaseException`s. Cases a caller handles differently (a `NotFoundError` that
    means "absent") are caught inside the block. Works around `await`s in coroutines as well. (A class
    rather than a generator-based context manager: it wraps every append, a third of the cost.)
    """

    __slots__ = ("_what",)

    def __init__(self, what: str) -> None:
        self._what = what

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, _traceback: TracebackType | None
    ) -> Literal[False]:
        if exc is None or isinstance(exc, EventLogError) or not isinstance(exc, Exception):
            return False
        raise LogUnavailable(f"{self._what}: {_describe(exc)}") from exc


def _describe(exc: Exception) -> str:
    """The error, with the server's own description and code for a JetStream API error."""
    if isinstance(exc, nats.js.errors.APIError) and (exc.description or exc.err_code):
        return f"{type(exc).__name__}({exc.description or ''}, code {exc.err_code})"
    return repr(exc)
