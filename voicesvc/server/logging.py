"""structlog JSON logs on stderr, with every configured secret redacted from every line.

Library logs that go through the standard `logging` module (aiohttp, grpc, asyncio) are rendered by the
same processors, so they are JSON too and pass through the same redaction.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterable, MutableMapping
from datetime import UTC, datetime
from typing import Any, TextIO, cast

import orjson
import structlog

from voicesvc.redact import REDACTED, SECRETS, Scrubber
from voicesvc.server.context import current_rpc
from voicesvc.server.logwriter import BatchingStream

__all__ = ["REDACTED", "SecretRedactor", "configure_logging", "write_line"]


class SecretRedactor:
    """A structlog processor (placed after the renderer) that scrubs secrets from each rendered line.

    It scrubs with `scrubber` (the process's `voicesvc.redact.SECRETS` unless given), so the API key the REST
    client registered and the tokens the configuration named are redacted in every encoding `Scrubber` knows.
    """

    def __init__(self, secrets: Iterable[str] = (), scrubber: Scrubber | None = None) -> None:
        self.scrubber = scrubber if scrubber is not None else Scrubber()
        for secret in secrets:
            self.scrubber.add(secret)

    def add(self, secret: str | None) -> None:
        """Redact `secret` from now on."""
        self.scrubber.add(secret)

    def redact(self, text: str) -> str:
        """`text` with every known secret replaced."""
        return self.scrubber.scrub(text)

    def __call__(self, _logger: Any, _method: str, rendered: Any) -> Any:
        """A structlog processor placed after the renderer."""
        if isinstance(rendered, str):
            return self.redact(rendered)
        if isinstance(rendered, bytes):
            return self.redact(rendered.decode("utf-8", "replace"))
        return rendered


_AS_JSON_DUMPS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def _dumps(event: Any, **options: Any) -> str:
    """One line's JSON, in ASCII: orjson's (a fifth of the standard library's time for an access-log line),
    or `json.dumps`'s for a line orjson would write with other characters (it has no ASCII-only mode, and a
    stream that cannot encode them would garble the line) or cannot write at all (an integer beyond 64 bits,
    a key that is not a string)."""
    try:
        # Dataclasses and datetimes go to `default` (their repr), as `json.dumps` writes them: orjson would
        # write every field of a dataclass, including those its repr leaves out.
        text = orjson.dumps(event, default=options.get("default"), option=_AS_JSON_DUMPS).decode()
    except TypeError:
        return json.dumps(event, **options)
    return text if text.isascii() else json.dumps(event, **options)


_LEVEL_OF_METHOD = {"warn": "warning", "exception": "error"}


class _Head:
    """Stamps a line with its time (UTC, ISO 8601 with microseconds: `2026-12-01T13:57:05.793074Z`) and
    level, and puts timestamp, level and event first, so lines read well before any tool parses them.

    One processor instead of structlog's `add_log_level`, `TimeStamper` and a reordering step: the date and
    time of day are formatted once per second, not for every line (an access-log line per RPC).
    """

    __slots__ = ("_second",)

    def __init__(self) -> None:
        self._second: tuple[int, str] = (-1, "")

    def stamp(self) -> str:
        """The time now, as lines show it."""
        now = time.time()
        second = int(now)
        cached = self._second  # one tuple: lines logged from other threads never see half an update
        if cached[0] != second:
            cached = self._second = (
                second,
                datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            )
        return f"{cached[1]}.{int((now - second) * 1_000_000):06d}Z"

    def __call__(self, _logger: Any, method: str, event: MutableMapping[str, Any]) -> Any:
        event.pop("timestamp", None)
        event.pop("level", None)
        head = {"timestamp": self.stamp(), "level": _LEVEL_OF_METHOD.get(method, method)}
        if "event" in event:
            head["event"] = event.pop("event")
        head.update(event)
        return head


rpc_context_in_chain = False
"""True once `configure_logging` put `rpc_context` in structlog's chain: the interceptor then binds nothing
per RPC (under another structlog configuration it binds `request_id` and `rpc` as context variables)."""


def rpc_context(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Any:
    """A structlog processor: a line logged while an RPC runs names its `request_id` and `rpc` (what the
    interceptor records for the RPC's task; nothing is bound per RPC)."""
    record = current_rpc.get()
    if record is not None:
        event.setdefault("request_id", record.request_id)
        event.setdefault("rpc", record.rpc)
    return event


def _drop_color_message(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Any:
    event.pop("color_message", None)
    return event


_LEVEL_NUMBERS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


class _DirectLines:
    """Writes a line as the configured chain would (its time stamp, JSON rendering and redaction), without
    structlog's bound-logger machinery: no proxy, filtering wrapper, context merge, or exception and stack
    steps, and a held line straight to its `BatchingStream` (which takes its own lock). The access log
    writes a line per RPC, and every Python call on that path counts. The caller names every field itself.
    """

    __slots__ = ("_head", "_level", "_scrub", "_write", "processors")

    def __init__(
        self,
        level: int,
        processors: list[Any],
        head: _Head,
        scrub: Callable[[str], str],
        write: Callable[[str], Any],
    ) -> None:
        self._level = level
        self.processors = tuple(processors)
        """structlog's chain when this writer was made: it writes only while structlog still runs it."""
        self._head = head
        self._scrub = scrub
        # `write` takes the line with its end.
        self._write = write

    def __call__(self, method: str, event: str, fields: dict[str, Any]) -> None:
        if _LEVEL_NUMBERS.get(method, logging.ERROR) < self._level:
            return
        line = {
            "timestamp": self._head.stamp(),
            "level": _LEVEL_OF_METHOD.get(method, method),
            "event": event,
            **fields,
        }
        # As the chain's JSONRenderer(_dumps) renders it; a value JSON cannot hold is written as its repr.
        self._write(self._scrub(_dumps(line, default=repr)) + "\n")


_direct: _DirectLines | None = None


def write_line(logger: Any, method: str, event: str, fields: dict[str, Any]) -> None:
    """Log `event` with `fields` at `method` (`debug`, `info`, `warning`, `error`) as `logger` would.

    Under `configure_logging`'s configuration the line is written directly (`_DirectLines`): the same text,
    without structlog's context variables, so `fields` must name everything the line needs (and neither
    `timestamp` nor `level`). Otherwise (a later `structlog.configure`, or `structlog.testing.capture_logs`,
    which swaps the processors inside the same list) it goes through `logger`.
    """
    direct = _direct
    if direct is not None and tuple(structlog.get_config()["processors"]) == direct.processors:
        direct(method, event, fields)
    else:
        getattr(logger, method)(event, **fields)


class _SharedLogger:
    """A structlog logger factory that hands out the same output logger every time."""

    def __init__(self, logger: structlog.WriteLogger) -> None:
        self._logger = logger

    def __call__(self, *_args: Any) -> structlog.WriteLogger:
        """The shared logger, whatever the logger's name."""
        return self._logger


def configure_logging(
    level: int = logging.INFO,
    *,
    stream: TextIO | None = None,
    secrets: Iterable[str] = (),
    batched: bool = False,
    cache_loggers: bool = False,
) -> SecretRedactor:
    """Send structlog and standard-library logs as JSON lines to `stream` (stderr by default).

    With `batched`, the lines written during one event-loop iteration leave in one write at its end
    (`BatchingStream`): what a server wants, instead of a system call per RPC. With `cache_loggers`, each
    structlog logger assembles its processors once, at its first call, instead of at every call (9 µs
    instead of 15 per line; 0.8 µs instead of 3.7 for a call below the level): for a process configured
    once (`voicesvc serve`), since a later configuration does not reach loggers already used.

    Returns the redactor of this configuration; `secrets`, anything added to it later and every secret in
    the process's scrubber (`voicesvc.redact.SECRETS`, where the REST client registers its API key) never
    appear in the output, in any encoding the scrubber knows. Configuring logging is the entry point's job
    (the `voicesvc` command): a service that starts changes no logging state.
    """
    out = stream if stream is not None else sys.stderr
    held = BatchingStream(out) if batched else None
    if held is not None:
        out = cast(TextIO, held)
    redactor = SecretRedactor(secrets, SECRETS)
    head = _Head()
    shared: list[Any] = [structlog.contextvars.merge_contextvars, rpc_context, head]
    renderer = structlog.processors.JSONRenderer(_dumps)
    processors: list[Any] = [
        *shared,
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        renderer,
        redactor,
    ]
    output = structlog.WriteLogger(out)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # One output logger for every call: without `cache_loggers`, structlog assembles a bound logger per
        # call (so a later configuration reaches every logger), and a fresh WriteLogger each time made a third
        # of that cost.
        logger_factory=_SharedLogger(output),
        cache_logger_on_first_use=cache_loggers,
    )
    global _direct, rpc_context_in_chain  # noqa: PLW0603 - structlog's configuration is process-wide too
    rpc_context_in_chain = True
    _direct = _DirectLines(
        level,
        structlog.get_config()["processors"],
        head,
        redactor.scrubber.scrub,
        held.write if held is not None else lambda text: output.msg(text[:-1]),
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name, _drop_color_message],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(_dumps),
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
