"""structlog JSON logs on stderr, with every configured secret redacted from every line.

Library logs that go through the standard `logging` module (aiohttp, grpc, asyncio) are rendered by the
same processors, so they are JSON too and pass through the same redaction.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog

REDACTED = "[redacted]"


class SecretRedactor:
    """Replaces known secrets in a rendered log line; new secrets can be added at any time."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._needles: tuple[str, ...] = ()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Redact `secret` from now on (as written, and as it appears inside a JSON string)."""
        if not secret:
            return
        forms = {secret, json.dumps(secret)[1:-1]}
        with self._lock:
            # Longest first, so a secret containing another is replaced whole.
            self._needles = tuple(sorted(set(self._needles) | forms, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """`text` with every known secret replaced."""
        for needle in self._needles:
            if needle in text:
                text = text.replace(needle, REDACTED)
        return text

    def __call__(self, _logger: Any, _method: str, rendered: Any) -> Any:
        """A structlog processor placed after the renderer."""
        if isinstance(rendered, str):
            return self.redact(rendered)
        if isinstance(rendered, bytes):
            return self.redact(rendered.decode("utf-8", "replace"))
        return rendered


def _leading_keys(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Any:
    """Put timestamp, level and event first, so lines read well before any tool parses them."""
    head = {k: event.pop(k) for k in ("timestamp", "level", "event") if k in event}
    return {**head, **event}


def _drop_color_message(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Any:
    event.pop("color_message", None)
    return event


def configure_logging(
    level: int = logging.INFO, *, stream: TextIO | None = None, secrets: Iterable[str] = ()
) -> SecretRedactor:
    """Send structlog and standard-library logs as JSON lines to `stream` (stderr by default).

    Returns the redactor of this configuration; `secrets` (and anything added to it later) never appears
    in the output. Configuring logging is the entry point's job (the `voicesvc` command): a service that
    starts changes no logging state.
    """
    out = stream if stream is not None else sys.stderr
    redactor = SecretRedactor(secrets)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            _leading_keys,
            structlog.processors.JSONRenderer(),
            redactor,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.WriteLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name, _drop_color_message],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _leading_keys,
            structlog.processors.JSONRenderer(),
            redactor,
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    # Library chatter: warnings normally, info when debugging (their debug output is per-call noise).
    root.setLevel(logging.INFO if level <= logging.DEBUG else max(level, logging.WARNING))
    return redactor
