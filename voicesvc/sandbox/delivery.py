"""Webhook delivery: signed POSTs, one strictly sequential queue per call, retries with backoff.

The `webhook_reorder` and `webhook_duplicate` faults bend the order on purpose: a held event (or a copy of
one) goes out right after the call's next event, or after the rule's `hold_ms` when none follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
import structlog

from voicesvc.backoff import Backoff, Jitter
from voicesvc.sandbox.faults import FaultInjector
from voicesvc.sandbox.ids import iso, now
from voicesvc.webhooks.sign import Signer

log = structlog.get_logger("voicesvc.sandbox.delivery")
ATTEMPTS_KEPT = 10_000
"""Delivery attempts the log keeps (the newest), like the request journal."""


@dataclass
class DeliveryAttempt:
    """One POST attempt (or injected failure) of one event to one URL."""

    event_id: str
    event_type: str
    key: str
    url: str | None
    attempt: int
    at: str
    ok: bool
    status: int | None = None
    error: str | None = None
    injected: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the admin API."""
        return asdict(self)


@dataclass
class _Outgoing:
    key: str
    event: dict[str, Any]
    urls: list[str]
    timeout_s: float


def webhook_backoff(initial_s: float = 0.5) -> Backoff:
    """Webhook retry waits: doubling from `initial_s` up to 30 s, without jitter, so the sandbox's retries
    are predictable to the receivers it tests."""
    return Backoff(initial_s=initial_s, max_s=30.0, jitter=Jitter.NONE)


@dataclass(frozen=True)
class WebhookRetryPolicy:
    """How often and how patiently a webhook delivery is retried."""

    max_attempts: int = 5
    backoff: Backoff = field(default_factory=webhook_backoff)
    timeout_s: float = 10.0

    def delay_s(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return self.backoff.delay_s(attempt)


@dataclass
class _Queue:
    items: deque[_Outgoing] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


class WebhookDispatcher:
    """Delivers events to their URLs; order is preserved per key (the call control id)."""

    def __init__(
        self,
        signer: Signer,
        faults: FaultInjector,
        *,
        standard_webhooks: bool = False,
        policy: WebhookRetryPolicy | None = None,
    ):
        self.signer = signer
        self.standard_webhooks = standard_webhooks
        self.policy = policy or WebhookRetryPolicy()
        self._faults = faults
        self._queues: dict[str, _Queue] = {}
        self._session: aiohttp.ClientSession | None = None
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        # The newest attempts only: a receiver that stays down must not grow the log without bound.
        self.attempts: deque[DeliveryAttempt] = deque(maxlen=ATTEMPTS_KEPT)
        self._stopped = False

    async def start(self) -> None:
        """Open the HTTP client session."""
        if self._session is None:
            self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        """Cancel pending deliveries and close the session; events queued afterwards are dropped."""
        self._stopped = True
        workers = [q.worker for q in self._queues.values() if q.worker is not None]
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._queues.clear()
        self._pending = 0
        self._idle.set()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def reset(self) -> None:
        """Forget the delivery log (pending deliveries carry on)."""
        self.attempts.clear()

    def enqueue(
        self, key: str, event: dict[str, Any], urls: list[str], timeout_s: float | None = None
    ) -> None:
        """Queue one event (the envelope's `data`) for delivery behind the key's earlier events."""
        if self._stopped:
            log.debug("webhook_dropped_after_stop", event_id=event.get("id"))
            return
        item = _Outgoing(
            key=key,
            event=event,
            urls=[u for u in urls if u],
            timeout_s=timeout_s or self.policy.timeout_s,
        )
        queue = self._queues.setdefault(key, _Queue())
        queue.items.append(item)
        queue.arrived.set()
        self._pending += 1
        self._idle.clear()
        if queue.worker is None:
            queue.worker = asyncio.get_running_loop().create_task(self._work(key, queue))

    async def drain(self, wait_s: float = 10.0) -> bool:
        """Wait until every queued event has been delivered or given up; False after `wait_s` seconds."""
        try:
            await asyncio.wait_for(self._idle.wait(), wait_s)
        except TimeoutError:
            return False
        return True

    @property
    def pending(self) -> int:
        """Events queued or in flight."""
        return self._pending

    async def _work(self, key: str, queue: _Queue) -> None:
        held: _Outgoing | None = None  # an event held back (reorder) or a copy to send again (duplicate)
        hold_s = 0.0
        try:
            while queue.items or held is not None:
                if not queue.items:
                    assert held is not None
                    queue.arrived.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(queue.arrived.wait(), hold_s)
                    if not queue.items:  # nothing came after it: out it goes
                        await self._deliver_one(held)
                        held = None
                        continue
                item = queue.items[0]
                rule = self._faults.for_order(item.event["event_type"]) if held is None else None
                if rule is not None and rule.kind == "webhook_reorder":
                    queue.items.popleft()
                    held, hold_s = item, rule.hold_ms / 1000
                    continue
                if rule is not None:  # webhook_duplicate: this one now, its copy after the next
                    self._pending += 1
                    held, hold_s = (
                        _Outgoing(item.key, dict(item.event), item.urls, item.timeout_s),
                        rule.hold_ms / 1000,
                    )
                await self._deliver_one(item, queue)
                if held is not None and rule is None:
                    await self._deliver_one(held)
                    held = None
        finally:
            queue.worker = None
            if not queue.items and self._queues.get(key) is queue:
                del self._queues[key]

    async def _deliver_one(self, item: _Outgoing, queue: _Queue | None = None) -> None:
        """Deliver `item` (the head of `queue` when given, removed after) and count it done."""
        try:
            await self._deliver(item)
        except Exception:  # one broken delivery must not stall the call's queue
            log.exception("webhook_delivery_crashed", event_id=item.event.get("id"))
        if queue is not None:
            queue.items.popleft()
        self._pending -= 1
        if self._pending == 0:
            self._idle.set()

    def _log(self, item: _Outgoing, url: str | None, attempt: int, ok: bool, **extra: Any) -> None:
        entry = DeliveryAttempt(
            event_id=item.event["id"],
            event_type=item.event["event_type"],
            key=item.key,
            url=url,
            attempt=attempt,
            at=iso(now()),
            ok=ok,
            **extra,
        )
        self.attempts.append(entry)
        fields = {k: v for k, v in entry.to_dict().items() if k != "at"}
        (log.info if url else log.debug)("webhook_attempt", **fields)

    async def _deliver(self, item: _Outgoing) -> None:
        if not item.urls:
            self._log(item, None, 0, False, error="no webhook url configured")
            return
        attempt = 0
        last = len(item.urls) * self.policy.max_attempts
        for url in item.urls:
            for _ in range(self.policy.max_attempts):
                attempt += 1
                if await self._attempt(item, url, attempt):
                    return
                if attempt < last:  # after the final failure the call's next webhook goes out at once
                    await asyncio.sleep(self.policy.delay_s(attempt))

    async def _attempt(self, item: _Outgoing, url: str, attempt: int) -> bool:
        injected = self._faults.for_delivery(item.event["event_type"])
        if injected is not None:
            status = injected.status or None
            self._log(
                item, url, attempt, False, status=status, injected=True, error=None if status else "timeout"
            )
            return False
        body = json.dumps(
            {"data": item.event, "meta": {"attempt": attempt, "delivered_to": url}},
            separators=(",", ":"),
        ).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "telnyx-webhooks (voicesvc sandbox)"}
        ts = int(time.time())
        headers.update(self.signer.sign_telnyx(body, ts))
        if self.standard_webhooks:
            # webhook-id is the event id, stable across retries, so receivers can de-duplicate
            headers.update(self.signer.sign_standard(body, item.event["id"], ts))
        assert self._session is not None, "dispatcher not started"
        try:
            async with self._session.post(
                url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=item.timeout_s),
            ) as resp:
                await resp.read()
                ok = 200 <= resp.status < 300
                self._log(item, url, attempt, ok, status=resp.status)
                return ok
        except TimeoutError:
            self._log(item, url, attempt, False, error="timeout")
        except aiohttp.ClientError as exc:
            self._log(item, url, attempt, False, error=f"{type(exc).__name__}: {exc}")
        return False
