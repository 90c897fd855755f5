"""A log stream that writes once per event-loop iteration instead of once per line.

structlog's and the standard library's writers flush after every line: one `write` system call per RPC at
info level. `BatchingStream` keeps the lines the event loop's thread writes during one iteration of the
loop and writes them together when that iteration's callbacks are done, so a busy server makes one system
call for many lines and the write leaves the RPC's own path. Lines are never reordered or dropped:

- off the loop (before it runs, after it stopped, or from another thread) a line is written at once, after
  any lines still held;
- more than `limit` characters held are written at once;
- whatever is still held when the process exits is written by an `atexit` hook.
"""

from __future__ import annotations

import asyncio
import atexit
import io
import threading
from typing import TextIO

__all__ = ["BatchingStream"]


class BatchingStream(io.TextIOBase):
    """A write-only text stream over `out` (see the module docstring); `flush()` only asks for the lines to
    leave at the end of the current loop iteration."""

    def __init__(self, out: TextIO, limit: int = 1 << 16) -> None:
        self._out = out
        self._limit = limit
        self._held: list[str] = []
        self._held_size = 0
        self._scheduled = False
        self._lock = threading.Lock()
        atexit.register(self.drain)

    def writable(self) -> bool:
        """Always: this stream only writes."""
        return True

    def write(self, text: str) -> int:
        """Hold `text` until the loop iteration ends (or write it now when off the loop)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        with self._lock:
            self._held.append(text)
            self._held_size += len(text)
            now = loop is None or self._held_size >= self._limit
            if not now and not self._scheduled:
                self._scheduled = True
                assert loop is not None
                loop.call_soon(self._drain_scheduled)
        if now:
            self.drain()
        return len(text)

    def flush(self) -> None:
        """Nothing to do at once: held lines leave when the loop iteration ends."""

    def drain(self) -> None:
        """Write every held line now, in the order they came."""
        with self._lock:
            if not self._held:
                return
            text = "".join(self._held)
            self._held.clear()
            self._held_size = 0
            try:
                self._out.write(text)
                self._out.flush()
            except (OSError, ValueError):  # the stream was closed under us (at exit): nothing left to tell
                pass

    def _drain_scheduled(self) -> None:
        with self._lock:
            self._scheduled = False
        self.drain()

    def isatty(self) -> bool:
        """Whether the underlying stream is a terminal."""
        return self._out.isatty()
