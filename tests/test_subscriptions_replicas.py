"""Subscriptions across `voicesvc serve` replicas sharing one NATS JetStream: members on different replicas
share one group; a member's process and a replica can be killed; acks, dead letters and configurations
survive a restart of every replica."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import grpc
import nats
import pytest
from google.protobuf import timestamp_pb2

from tests.support.events import WebhookPoster
from tests.support.nats import NatsServer
from tests.support.stack import eventually
from tests.support.voicesvc_process import ROOT, ServerProcess, start_server, stop_server
from voicesvc.client import VoiceClient
from voicesvc.events import decode_cursor
from voicesvc.events.nats.log import DEFAULT_STREAM
from voicesvc.v1 import subscriptions_pb2, subscriptions_pb2_grpc
from voicesvc.webhooks import Signer

CALL_EVENTS = (
    "call.initiated",
    "call.answered",
    "call.speak.started",
    "call.speak.ended",
    "call.dtmf.received",
    "call.gather.ended",
    "call.hangup",
    "call.recording.saved",
)
WAIT = 60.0


@pytest.fixture
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture
def signer() -> Signer:
    return Signer.generate()


def _env(nats_server: NatsServer, signer: Signer) -> dict[str, str]:
    return {
        "VOICESVC_EVENTS_BACKEND": nats_server.url,
        "TELNYX_PUBLIC_KEY": signer.public_key_b64,
        "VOICESVC_GRACE_PERIOD": "1",
    }


async def _start_two(env: dict[str, str]) -> list[ServerProcess]:
    started = await asyncio.gather(
        asyncio.to_thread(start_server, env), asyncio.to_thread(start_server, env), return_exceptions=True
    )
    for outcome in started:
        if isinstance(outcome, BaseException):
            for server in started:
                if isinstance(server, ServerProcess):
                    stop_server(server)
            raise outcome
    return [s for s in started if isinstance(s, ServerProcess)]


@pytest.fixture
async def replicas(nats_server: NatsServer, signer: Signer) -> AsyncIterator[list[ServerProcess]]:
    servers = await _start_two(_env(nats_server, signer))
    try:
        yield servers
    finally:
        await asyncio.gather(*(asyncio.to_thread(stop_server, s) for s in servers))


@dataclass
class Seen:
    """What the members received and acked, in order."""

    deliveries: list[tuple[str, str, str, int]] = field(default_factory=list)
    """(member, event id, call session, attempt)"""
    acked: list[str] = field(default_factory=list)
    acked_again: list[str] = field(default_factory=list)
    holders: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    held_cursors: list[str] = field(default_factory=list)
    """Cursors of the deliveries a member held back on purpose."""

    def record(self, member: str, event_id: str, session: str, attempt: int) -> None:
        self.deliveries.append((member, event_id, session, attempt))
        self.holders[session].add(member)

    def ack(self, event_id: str) -> None:
        if event_id in self.acked:
            self.acked_again.append(event_id)
        self.acked.append(event_id)


async def _member(
    target: str, subscription: str, member_id: str, seen: Seen, hold: set[tuple[str, str]] | None = None
) -> None:
    """A worker on `target`: acks every delivery, except the first delivery of the (call session, event type)
    pairs in `hold`."""
    async with VoiceClient(target) as client:
        pull = client.pull(subscription, member_id=member_id, heartbeat_interval=1.0, max_backoff=0.5)
        async with pull:
            async for message in pull:
                event = message.event
                seen.record(member_id, event.id, event.call_session_id, message.delivery_attempt)
                if hold is not None and (event.call_session_id, event.event_type) in hold:
                    hold.discard((event.call_session_id, event.event_type))
                    seen.held_cursors.append(event.cursor)
                    continue
                await message.ack()
                seen.ack(event.id)


async def _eventually(check: Any, limit: float = WAIT) -> None:
    await eventually(check, limit)


async def _subscription(target: str, name: str) -> subscriptions_pb2.Subscription:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = subscriptions_pb2_grpc.SubscriptionsStub(channel)
        return await stub.GetSubscription(subscriptions_pb2.GetSubscriptionRequest(name=name))


async def _create(target: str, subscription_id: str, **fields: Any) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = subscriptions_pb2_grpc.SubscriptionsStub(channel)
        await stub.CreateSubscription(
            subscriptions_pb2.CreateSubscriptionRequest(
                subscription_id=subscription_id, subscription=subscriptions_pb2.Subscription(**fields)
            )
        )


async def _leader(nats_url: str, subscription_id: str) -> str:
    """The gRPC address of the replica leading the subscription, as its lease in KV says."""
    connection = await nats.connect(nats_url)
    try:
        kv = await connection.jetstream().key_value(f"{DEFAULT_STREAM}_SUBSCRIPTIONS")
        for _ in range(200):
            with contextlib.suppress(Exception):
                entry = await kv.get(f"leader.{subscription_id}")
                if entry.value:
                    return str(json.loads(entry.value)["address"])
            await asyncio.sleep(0.05)
    finally:
        await connection.close()
    raise AssertionError("no leader")


async def _send_calls(
    posters: list[WebhookPoster],
    calls: range,
    events: tuple[str, ...],
    rng: random.Random,
    repeat: float = 0.0,
) -> dict[str, list[str]]:
    """Each call's events in order, calls concurrently, each webhook to a random replica (a share of them
    delivered twice, to both replicas): the ids per call session."""
    sent: dict[str, list[str]] = {}

    async def one(call: int) -> None:
        session = f"session-{call}"
        ids = sent.setdefault(session, [])
        for event_type in events:
            payload: dict[str, Any] = {
                "call_control_id": f"v3:leg-{call}",
                "call_session_id": session,
                "connection_id": "c1",
            }
            poster = rng.choice(posters)
            event_id, _ = await poster.deliver(event_type, **payload)
            ids.append(event_id)
            if rng.random() < repeat:
                for other in posters:
                    await other.deliver(event_type, event_id=event_id, attempt=2, **payload)

    await asyncio.gather(*(one(c) for c in calls))
    return sent


def _acked_order(seen: Seen, session: str) -> list[str]:
    ids = {d[1] for d in seen.deliveries if d[2] == session}
    return [i for i in seen.acked if i in ids]


async def test_three_members_on_two_replicas_get_every_event_once_in_call_order(
    replicas: list[ServerProcess], signer: Signer
) -> None:
    a, b = replicas
    await _create(a.target, "fleet")
    seen = Seen()
    members = [
        asyncio.create_task(_member(a.target, "subscriptions/fleet", "m1", seen)),
        asyncio.create_task(_member(a.target, "subscriptions/fleet", "m2", seen)),
        asyncio.create_task(_member(b.target, "subscriptions/fleet", "m3", seen)),
    ]
    try:
        await _eventually(lambda: _members_are(a.target, "subscriptions/fleet", 3))
        async with aiohttp.ClientSession() as http:
            posters = [WebhookPoster(http, r.http_url, signer) for r in replicas]
            sent = await _send_calls(posters, range(200), CALL_EVENTS, random.Random(5), repeat=0.05)
        everything = [i for ids in sent.values() for i in ids]

        async def all_acked() -> bool:
            return len(seen.acked) >= len(everything)

        await _eventually(all_acked)
        await asyncio.sleep(0.3)  # nothing more arrives
    finally:
        for task in members:
            task.cancel()
        await asyncio.gather(*members, return_exceptions=True)
    assert sorted(seen.acked) == sorted(everything)  # every event acked exactly once
    assert len(seen.deliveries) == len(everything)  # and delivered once
    for session, ids in sent.items():
        assert _acked_order(seen, session) == ids, session
        assert len(seen.holders[session]) == 1, session  # one member per call
    assert {m for holders in seen.holders.values() for m in holders} == {"m1", "m2", "m3"}


async def _members_are(target: str, name: str, count: int) -> bool:
    return (await _subscription(target, name)).members == count


WORKER = """
import asyncio, json, sys
from voicesvc.client import VoiceClient
from voicesvc.events import decode_cursor
from voicesvc.events.nats.log import DEFAULT_STREAM

async def main(target, name):
    async with VoiceClient(target) as client:
        async with client.pull(name, member_id="doomed", heartbeat_interval=1.0) as pull:
            print(json.dumps({"ready": True}), flush=True)
            async for message in pull:
                event = message.event
                held = event.event_type == "call.answered"
                line = {"id": event.id, "session": event.call_session_id, "attempt": message.delivery_attempt}
                if not held:
                    await message.ack()
                print(json.dumps({**line, "held": held}), flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_a_killed_member_and_a_killed_replica_hand_their_calls_over_losing_nothing(
    replicas: list[ServerProcess], signer: Signer, nats_server: NatsServer
) -> None:
    await _create(replicas[0].target, "takeover")
    # Whoever leads gets the worker that will be killed; the survivors reach the leader through the other.
    leader_address = await _leader(nats_server.url, "takeover")
    leader = next(r for r in replicas if r.target == leader_address)
    follower = next(r for r in replicas if r is not leader)
    name = "subscriptions/takeover"
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WORKER, leader.target, name, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    assert worker.stdout is not None
    assert json.loads(await asyncio.wait_for(worker.stdout.readline(), WAIT)) == {"ready": True}
    seen = Seen()
    worker_acked: list[str] = []
    worker_held: list[tuple[str, str]] = []

    async def read_worker() -> None:
        assert worker.stdout is not None
        async for line in worker.stdout:
            got = json.loads(line)
            seen.record("doomed", got["id"], got["session"], got["attempt"])
            if got["held"]:
                worker_held.append((got["id"], got["session"]))
            else:
                worker_acked.append(got["id"])
                seen.ack(got["id"])

    reader = asyncio.create_task(read_worker())
    # The survivors hold one event once: it is outstanding at them when the leader is killed.
    hold_once: set[tuple[str, str]] = {("session-100", CALL_EVENTS[2])}
    survivors = [
        asyncio.create_task(_member(follower.target, name, "s1", seen, hold_once)),
        asyncio.create_task(_member(follower.target, name, "s2", seen, hold_once)),
    ]
    try:
        await _eventually(lambda: _members_are(leader.target, name, 3))
        async with aiohttp.ClientSession() as http:
            posters = [WebhookPoster(http, r.http_url, signer) for r in replicas]
            first = await _send_calls(posters, range(30), CALL_EVENTS, random.Random(7))

            # The worker holds its calls at call.answered; everything else is acked. Quiesce, then kill it.
            async def settled() -> bool:
                figures = await _subscription(leader.target, name)
                return (
                    bool(worker_held)
                    and figures.outstanding == len(worker_held)
                    and figures.acked == len(seen.acked)
                    and len(seen.acked) + len(worker_held) * 7 == sum(len(ids) for ids in first.values())
                )

            await _eventually(settled)
            doomed_calls = {session for _, session in worker_held}
            worker.send_signal(signal.SIGKILL)
            await worker.wait()
            everything = [i for ids in first.values() for i in ids]

            async def first_done() -> bool:
                return len(set(seen.acked)) == len(everything)

            await _eventually(first_done)
            held_ids = {i for i, _ in worker_held}
            taken_over = [d for d in seen.deliveries if d[1] in held_ids and d[0] != "doomed"]
            assert sorted(d[1] for d in taken_over) == sorted(held_ids)
            assert {d[3] for d in taken_over} == {2}  # delivered again, one attempt more
            for session in doomed_calls:
                assert _acked_order(seen, session) == first[session]

            # A second batch: half of each call, one event held unacked by a survivor, then the leader dies.
            await _eventually(lambda: _acked_is(leader.target, name, len(seen.acked)))
            second_calls = range(100, 110)
            head = await _send_calls(posters, second_calls, CALL_EVENTS[:4], random.Random(8))

            async def head_settled() -> bool:
                figures = await _subscription(leader.target, name)
                return figures.acked == len(seen.acked) and len(set(seen.acked)) == len(everything) + 40 - 2

            await _eventually(head_settled)
            # The leader writes attempts to KV asynchronously: wait until the held event's is there.
            seq = decode_cursor(seen.held_cursors[0]).seq
            await _eventually(lambda: _attempts_stored(nats_server.url, "takeover", seq))
            leader.process.send_signal(signal.SIGKILL)
            leader.process.wait()
            only_follower = [WebhookPoster(http, follower.http_url, signer)]
            tail = await _send_calls(only_follower, second_calls, CALL_EVENTS[4:], random.Random(9))
        second = {s: head[s] + tail[s] for s in head}
        total = len(everything) + sum(len(ids) for ids in second.values())

        async def second_done() -> bool:
            return len(set(seen.acked)) == total

        await _eventually(second_done)
        assert await _leader(nats_server.url, "takeover") == follower.target  # it took the group over
        await asyncio.sleep(0.5)
    finally:
        for task in [*survivors, reader]:
            task.cancel()
        await asyncio.gather(*survivors, reader, return_exceptions=True)
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    # Nothing acked was delivered again (before the kill every ack had reached the leader).
    assert seen.acked_again == []
    for session, ids in second.items():
        assert _acked_order(seen, session) == ids, session
    held = head["session-100"][2]
    assert [d[3] for d in seen.deliveries if d[1] == held] == [1, 2]  # the attempt count survived the leader


async def _attempts_stored(nats_url: str, subscription_id: str, seq: int) -> bool:
    connection = await nats.connect(nats_url)
    try:
        kv = await connection.jetstream().key_value(f"{DEFAULT_STREAM}_SUB_{subscription_id}")
        entry = await kv.get(f"att.{seq}")
        return entry.value == b"1"
    except Exception:  # noqa: BLE001 - not there yet
        return False
    finally:
        await connection.close()


async def _acked_is(target: str, name: str, count: int) -> bool:
    return (await _subscription(target, name)).acked == count


async def test_dead_letters_acks_and_replay_survive_a_restart_of_every_replica(
    nats_server: NatsServer, signer: Signer
) -> None:
    env = _env(nats_server, signer)
    servers = await _start_two(env)
    try:
        a = servers[0]
        await _create(a.target, "durable", max_delivery_attempts=2)
        async with aiohttp.ClientSession() as http, VoiceClient(a.target) as client:
            posters = [WebhookPoster(http, r.http_url, signer) for r in servers]
            pull = client.pull("durable", member_id="keeper")
            async with pull:
                sent = await _send_calls(posters, range(3), CALL_EVENTS[:3], random.Random(3))
                poison, kept = sent["session-0"][0], sent["session-1"][2]
                attempts: dict[str, list[int]] = defaultdict(list)
                acked = 0
                async for message in pull:
                    event_id = message.event.id
                    attempts[event_id].append(message.delivery_attempt)
                    if event_id == poison:
                        await message.nack()  # always fails: dead-lettered after 2 attempts
                    elif event_id != kept:
                        await message.ack()
                        acked += 1
                    if acked == 7 and len(attempts[poison]) == 2 and kept in attempts:
                        break
            assert attempts[poison] == [1, 2]
            await _eventually(lambda: _dead_lettered_is(a.target, "subscriptions/durable", 1))
            await asyncio.sleep(0.2)
            boundary = time.time()
            await asyncio.sleep(0.05)
            later = await _send_calls(posters[:1], range(10, 12), CALL_EVENTS[:2], random.Random(4))
            await _eventually(lambda: _acked_is(a.target, "subscriptions/durable", 7))
    finally:
        await asyncio.gather(*(asyncio.to_thread(stop_server, s) for s in servers))

    servers = await _start_two(env)
    try:
        b = servers[1]
        async with VoiceClient(b.target) as client:
            letters = await client.subscriptions.ListDeadLetters(
                subscriptions_pb2.ListDeadLettersRequest(subscription="subscriptions/durable")
            )
            assert [(d.event.id, d.delivery_attempts) for d in letters.dead_letters] == [(poison, 2)]
            later_ids = [i for ids in later.values() for i in ids]
            got: list[tuple[str, int]] = []
            async with client.pull("durable", member_id="keeper") as pull:
                async for message in pull:
                    got.append((message.event.id, message.delivery_attempt))
                    await message.ack()
                    if len(got) == 1 + len(later_ids):
                        break
                # Only what was never acked: the held event (one attempt more) and the later calls' events.
                assert sorted(got) == sorted([(kept, 2), *((i, 1) for i in later_ids)])
                redriven = await client.subscriptions.RedriveDeadLetters(
                    subscriptions_pb2.RedriveDeadLettersRequest(subscription="subscriptions/durable")
                )
                assert redriven.redriven_count == 1
                async for message in pull:
                    assert (message.event.id, message.delivery_attempt) == (poison, 1)
                    await message.ack()
                    break
            # Replay: a subscription starting at a time gets what was accepted since, before the restart too.
            stamp = timestamp_pb2.Timestamp()
            stamp.FromNanoseconds(int(boundary * 1e9))
            await _create(b.target, "replay", start_time=stamp)
            replayed: list[str] = []
            async with client.pull("replay") as pull:
                async for message in pull:
                    replayed.append(message.event.id)
                    await message.ack()
                    if len(replayed) == len(later_ids):
                        break
            assert sorted(replayed) == sorted(later_ids)
    finally:
        await asyncio.gather(*(asyncio.to_thread(stop_server, s) for s in servers))


async def _dead_lettered_is(target: str, name: str, count: int) -> bool:
    return (await _subscription(target, name)).dead_lettered == count
