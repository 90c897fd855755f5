"""One place that turns NATS client failures into the event log's own errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import nats.js.errors

from voicesvc.events.log import EventLogError, LogUnavailable

__all__ = ["mapped_errors"]


@contextlib.contextmanager
def mapped_errors(what: str) -> Iterator[None]:
    """Raise `LogUnavailable("<what>: <error>")` for any exception the block raises (NATS, OS, timeouts).

    The event log's own errors (`LogUnavailable`, `LogClosed`, `CursorExpired`, ...) pass unchanged, and so
    do cancellation and other `BaseException`s. Cases a caller handles differently (a `NotFoundError` that
    means "absent") are caught inside the block. Works around `await`s in coroutines as well.
    """
    try:
        yield
    except EventLogError:
        raise
    except Exception as exc:
        raise LogUnavailable(f"{what}: {_describe(exc)}") from exc


def _describe(exc: Exception) -> str:
    """The error, with the server's own description and code for a JetStream API error."""
    if isinstance(exc, nats.js.errors.APIError) and (exc.description or exc.err_code):
        return f"{type(exc).__name__}({exc.description or ''}, code {exc.err_code})"
    return repr(exc)
