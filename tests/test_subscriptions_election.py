"""Leadership of a subscription on the NATS backend when one replica elects twice at once (the follow loop
and a joining member): one engine reads the consumer, so every event reaches the members."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.js.kv import KeyValue

from tests.support.nats import NatsServer, unique_log_names
from voicesvc.events.nats import NatsEventLog
from voicesvc.subscriptions.model import MemberSession, SubscriptionConfig
from voicesvc.subscriptions.nats import NatsSubscriptions

WAIT = 10.0


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    with NatsServer(tmp_path) as server:
        yield server


@pytest.fixture
async def backend(nats_server: NatsServer) -> AsyncIterator[NatsSubscriptions]:
    log = NatsEventLog(nats_server.url, **unique_log_names(), pull_expires_s=0.5, consumer_inactive_s=5)
    await log.start()
    subscriptions = NatsSubscriptions(log)
    await subscriptions.start()
    subscriptions.address = "127.0.0.1:1"
    try:
        yield subscriptions
    finally:
        await subscriptions.close()
        await log.close()


async def _append(log: NatsEventLog, call: int, event_type: str) -> str:
    event_id = str(uuid.uuid4())
    payload = {"call_control_id": f"v3:leg-{call}", "call_session_id": f"session-{call}"}
    raw = json.dumps({"data": {"id": event_id, "event_type": event_type, "payload": payload}}).encode()
    await log.append(raw, event_id, event_type)
    return event_id


async def _receive(sessions: list[MemberSession], count: int) -> list[str]:
    """Event ids delivered to `sessions` (each acked at once) until `count` arrived or none came for
    `WAIT` seconds."""
    got: list[str] = []
    loop = asyncio.get_running_loop()
    quiet_until = loop.time() + WAIT
    while len(got) < count and loop.time() < quiet_until:
        batches = await asyncio.gather(*(session.next(0.2) for session in sessions))
        for session, batch in zip(sessions, batches, strict=True):
            if batch:
                got.extend(delivery.event.event_id for delivery in batch)
                session.ack([delivery.ack_id for delivery in batch])
                quiet_until = loop.time() + WAIT
    return got


async def test_an_election_racing_the_first_one_starts_no_second_engine(
    backend: NatsSubscriptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    await backend.create(SubscriptionConfig("race"))
    # The first election takes the lease and stops while it opens the group state; a second election
    # (the follow loop's round) runs meanwhile and finds the lease already this replica's.
    opening = asyncio.Event()
    release = asyncio.Event()
    open_bucket = backend.bucket

    async def slow_first_bucket(kind: str, subscription_id: str) -> KeyValue:
        if kind == "SUB" and not opening.is_set():
            opening.set()
            await release.wait()
        return await open_bucket(kind, subscription_id)

    monkeypatch.setattr(backend, "bucket", slow_first_bucket)
    first = asyncio.create_task(backend.join("race", "m1", 100))
    await asyncio.wait_for(opening.wait(), WAIT)
    racing = asyncio.create_task(backend._refresh())  # the follow loop's round, forced now
    # It either completes (electing a second time) or waits for the first election to end.
    await asyncio.wait([racing], timeout=2.0)
    release.set()
    m1 = await asyncio.wait_for(first, WAIT)
    await asyncio.wait_for(racing, WAIT)
    m2 = await backend.join("race", "m2", 100)
    assert (await backend.get("race")).figures.members == 2

    sent = [
        await _append(backend.log, call, kind)
        for call in range(10)
        for kind in ("call.initiated", "call.hangup")
    ]
    got = await _receive([m1, m2], len(sent))
    # Every event reaches a member, once: no engine without members holds any of them.
    assert sorted(got) == sorted(sent)
    await m1.close()
    await m2.close()
