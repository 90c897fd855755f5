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
from collections import deque
from typing import TextIO

__all__ = ["BatchingStream"]


class BatchingStream(io.TextIOBase):
    """A write-only text stream over `out` (see the module docstring); `flush()` only asks for the lines to
    leave at the end of the current loop iteration.

    A line is held without a lock (appending to a deque is atomic, from any thread); writing them out takes
    one, so that two threads writing out held lines at once cannot swap their order.
    """

    def __init__(self, out: TextIO, limit: int = 1 << 16) -> None:
        self._out = out
        self._limit = limit
        self._held: deque[str] = deque()
        # Only decides when to write out early: an update lost between two threads does no harm.
        self._held_size = 0
        # Whether a drain is due at the end of this loop iteration: set on the loop's thread.
        self._scheduled = False
        self._writing = threading.Lock()
        atexit.register(self.drain)

    def writable(self) -> bool:
        """Always: this stream only writes."""
        return True

    def write(self, text: str) -> int:
        """Hold `text` until the loop iteration ends (or write it now when off the loop)."""
        self._held.append(text)
        self._held_size += len(text)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.drain()
            return len(text)
        if self._held_size >= self._limit:
            self.drain()
        elif not self._scheduled:
            self._scheduled = True
            loop.call_soon(self.drain)
        return len(text)

    def flush(self) -> None:
        """Nothing to do at once: held lines leave when the loop iteration ends."""

    def drain(self) -> None:
        """Write every held line now, in the order they came."""
        self._scheduled = False
        with self._writing:
            held = self._held
            if not held:
                return
            lines = []
            take = held.popleft
            try:
                while True:
                    lines.append(take())
            except IndexError:
                pass
            self._held_size = 0
            try:
                self._out.write("".join(lines))
                self._out.flush()
            except (OSError, ValueError):  # the stream was closed under us (at exit): nothing left to tell
                pass

    def isatty(self) -> bool:
        """Whether the underlying stream is a terminal."""
        return self._out.isatty()
