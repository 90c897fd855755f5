"""The live projection of calls: one replica's `CallStore`, fed from its own read of the event log.

Why rebuild from the log rather than keep the calls in a JetStream KV bucket: the log already is the
durable, ordered, shared record of every event, and the reducer is deterministic. Each replica reads the
same events in the same log order (from the oldest retained event, at start-up) with the same rules, so
every replica converges to the same calls and a restarted replica has them again, with nothing else to
keep consistent: no second write per event, no compare-and-set between replicas folding the same event,
no bucket that can disagree with the log. What it costs is the time to re-read the retained log at start
(measured by `make bench`: the projection's cost per event), during which a replica says it is catching
up; and calls whose events the log no longer retains are no longer known (ended-call retention is
normally far shorter than the log's). The memory backend keeps both the log and the calls in the process.

Readiness: at start the projection takes the log's latest position; it is `ready` once it has applied
every event up to there. Readers wait for that (bounded by their deadline) so that a list right after
start-up cannot silently miss calls.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from voicesvc.backoff import Backoff
from voicesvc.calls.reducer import parse_event
from voicesvc.calls.store import CallStore
from voicesvc.events.log import (
    CursorExpired,
    EventLog,
    InvalidCursor,
    LogClosed,
    LogUnavailable,
    Start,
    Subscription,
    decode_cursor,
)

__all__ = ["CallProjection"]

log = structlog.get_logger("voicesvc.calls")

_YIELD_EVERY = 256
"""Events applied between two turns given to the rest of the event loop while catching up."""


class CallProjection:
    """Feeds `store` from `event_log`, from the oldest retained event, for as long as it runs."""

    def __init__(self, event_log: EventLog, store: CallStore) -> None:
        self.log = event_log
        self.store = store
        self.target_seq = 0
        """The log's latest sequence when the projection started: ready once applied up to it."""
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._backoff = Backoff(initial_s=0.1, max_s=5.0)

    @property
    def ready(self) -> bool:
        """True once every event the log held at start has been applied."""
        return self._ready.is_set()

    async def start(self) -> None:
        """Note where the log ends now and start reading it from the oldest retained event."""
        _, latest = await self.log.bounds()
        self.target_seq = latest or 0
        if self.target_seq == 0:
            self._ready.set()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="calls-projection")

    async def wait_ready(self, max_wait: float | None) -> bool:
        """Wait until ready, at most `max_wait` seconds (None: no limit); True when ready."""
        if self._ready.is_set():
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), max_wait)
        return self._ready.is_set()

    async def wait_applied(self, seq: int, max_wait: float | None) -> bool:
        """Wait until the event at `seq` has been applied, at most `max_wait` seconds; True when it has."""
        loop = asyncio.get_running_loop()
        deadline = None if max_wait is None else loop.time() + max_wait
        while self.store.seq < seq:
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return False
            await self.store.feed.wait(left)
        return True

    async def close(self) -> None:
        """Stop reading the log; idempotent."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        failures = 0
        while True:
            start = Start.after(self.store.cursor) if self.store.cursor else Start.oldest()
            try:
                subscription = await self.log.subscribe(start)
            except CursorExpired:
                log.warning("calls_projection_behind_retention", cursor=self.store.cursor)
                self.store.cursor = ""
                continue
            except LogClosed:
                return
            except LogUnavailable as exc:
                failures += 1
                log.warning("calls_projection_log_unavailable", error=str(exc))
                await asyncio.sleep(self._backoff.delay_s(failures))
                continue
            failures = 0
            try:
                await self._follow(subscription)
            except CursorExpired:
                # Retention overtook this reader: go on from the oldest retained event, keeping what is known.
                log.warning("calls_projection_behind_retention", cursor=self.store.cursor)
                self.store.cursor = ""
            except LogClosed:
                return
            except LogUnavailable as exc:
                failures += 1
                log.warning("calls_projection_log_unavailable", error=str(exc))
                await asyncio.sleep(self._backoff.delay_s(failures))
            finally:
                with contextlib.suppress(Exception):
                    await subscription.close()

    async def _follow(self, subscription: Subscription) -> None:
        count = 0
        while True:
            stored = await subscription.next(None if self.ready else 0.2)
            if stored is None:
                self._check_ready(subscription.checkpoint)
                continue
            if stored.seq <= self.store.seq:
                continue  # already applied (a resubscription from the oldest after retention overtook us)
            event = parse_event(stored)
            if event is None:
                self.store.advance(stored.seq, stored.cursor)
            else:
                self.store.apply(event)
            self._check_ready(None)
            count += 1
            if count % _YIELD_EVERY == 0:
                await asyncio.sleep(0)

    def _check_ready(self, checkpoint: str | None) -> None:
        if self._ready.is_set():
            return
        reached = self.store.seq
        if checkpoint is not None:
            # Idle: the reader has seen everything up to its checkpoint (events retention removed included).
            with contextlib.suppress(InvalidCursor):
                reached = max(reached, decode_cursor(checkpoint).seq)
        if reached >= self.target_seq:
            self._ready.set()
            log.info("calls_projection_ready", events=self.store.events_applied, calls=len(self.store))
