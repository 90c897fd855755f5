"""Service logs captured as text, configured as `voicesvc serve` configures them, and reset afterwards."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterable, Iterator

import structlog

from voicesvc.server import logging as service_logging
from voicesvc.server.logging import configure_logging


@contextlib.contextmanager
def captured_logs(level: int = logging.DEBUG, secrets: Iterable[str] = ()) -> Iterator[io.StringIO]:
    """JSON log lines (structlog and standard logging) in a buffer, `secrets` redacted; reset afterwards."""
    buffer = io.StringIO()
    configure_logging(level, stream=buffer, secrets=list(secrets))
    try:
        yield buffer
    finally:
        reset_logging()


def reset_logging() -> None:
    """Back to the defaults: structlog unconfigured and a bare root logger, as before any test."""
    structlog.reset_defaults()
    service_logging.rpc_context_in_chain = False  # RPCs bind their log context again, as under any chain
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
