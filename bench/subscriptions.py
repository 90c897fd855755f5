"""Worker-group benchmark: throughput through one subscription, and how fast a group recovers a call.

Against real `voicesvc serve` child processes on loopback — one on the memory backend, two replicas on a
local nats-server for NATS — driven from this process over real HTTP and gRPC:

* throughput: signed webhooks (200 calls x 10 events, 32 concurrent senders, signed before the clock starts)
  through one per-call-ordered subscription with 3 members that ack each event at once (on NATS, two members
  on one replica and one on the other): events acked per second, from the first POST to the last ack;
* handover: a member holds a call's event unacked and its stream ends; the time until another member has
  that event (the call's first unacked one), p50 and max over the rounds (goal: at most 1 s);
* silent member: a member receives an event and never answers (no FIN, stream open); the time from the
  delivery to the redelivery, with a 1 s ack deadline (goal: at most the deadline + 1 s).

Run with `python -m bench.subscriptions`; `run()` returns the rows for the combined table.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import grpc
from google.protobuf import duration_pb2

from bench.report import Section
from bench.rows import section
from tests.support.nats import NatsServer
from tests.support.voicesvc_process import ServerProcess, start_server, stop_server
from voicesvc.client import VoiceClient
from voicesvc.client.pull import Message, Pull
from voicesvc.v1 import subscriptions_pb2
from voicesvc.webhooks import Signer

WEBHOOK_PATH = "/webhooks/telnyx"
CALLS = 200
EVENTS_PER_CALL = 10
CONCURRENCY = 32
HANDOVER_ROUNDS = 10
SILENT_ROUNDS = 3
STEP_TIMEOUT_S = 60.0

Row = tuple[str, str, str]


def _webhook(event_type: str, session: str) -> tuple[bytes, str]:
    event_id = str(uuid.uuid4())
    body = {
        "data": {
            "id": event_id,
            "event_type": event_type,
            "record_type": "event",
            "payload": {"call_control_id": f"v3:{session}", "call_session_id": session, "connection_id": "b"},
        },
        "meta": {"attempt": 1, "delivered_to": "http://127.0.0.1/webhooks/telnyx"},
    }
    return json.dumps(body).encode(), event_id


@contextlib.asynccontextmanager
async def _replicas(backend: str, public_key: str) -> AsyncIterator[list[ServerProcess]]:
    env = {"VOICESVC_GRACE_PERIOD": "1", "TELNYX_PUBLIC_KEY": public_key}
    with contextlib.ExitStack() as stack:
        count = 1
        if backend == "nats":
            server = stack.enter_context(NatsServer(Path(stack.enter_context(tempfile.TemporaryDirectory()))))
            env["VOICESVC_EVENTS_BACKEND"] = server.url
            count = 2
        started = [await asyncio.to_thread(start_server, env) for _ in range(count)]
        try:
            yield started
        finally:
            for replica in started:
                await asyncio.to_thread(stop_server, replica)


class _Poster:
    def __init__(self, http: aiohttp.ClientSession, signer: Signer, replicas: list[ServerProcess]) -> None:
        self.http = http
        self.signer = signer
        self.urls = [r.http_url + WEBHOOK_PATH for r in replicas]
        self.sent = 0

    async def post(self, raw: bytes, headers: dict[str, str] | None = None) -> None:
        url = self.urls[self.sent % len(self.urls)]
        self.sent += 1
        headers = headers or self.signer.sign_telnyx(raw, int(time.time()))
        async with self.http.post(url, data=raw, headers=headers) as response:
            if response.status != 200:
                raise RuntimeError(f"webhook refused: {response.status} {await response.text()}")

    async def event(self, event_type: str, session: str) -> str:
        raw, event_id = _webhook(event_type, session)
        await self.post(raw)
        return event_id


async def _create(client: VoiceClient, subscription_id: str, ack_deadline_s: float = 30.0) -> str:
    deadline = duration_pb2.Duration()
    deadline.FromNanoseconds(int(ack_deadline_s * 1e9))
    await client.subscriptions.CreateSubscription(
        subscriptions_pb2.CreateSubscriptionRequest(
            subscription_id=subscription_id,
            subscription=subscriptions_pb2.Subscription(ack_deadline=deadline),
        )
    )
    return f"subscriptions/{subscription_id}"


async def _next(pull: Pull) -> Message:
    async with asyncio.timeout(STEP_TIMEOUT_S):
        return await anext(aiter(pull))


async def measure_throughput(backend: str, clients: list[VoiceClient], poster: _Poster) -> Row:
    """Events per second through one subscription with 3 acking members."""
    name = await _create(clients[0], "bench-throughput")
    total = CALLS * EVENTS_PER_CALL
    acked = 0
    done = asyncio.Event()

    async def member(client: VoiceClient, member_id: str) -> None:
        nonlocal acked
        async with client.pull(name, member_id=member_id, max_outstanding=1000) as pull:
            async for message in pull:
                await message.ack()
                acked += 1
                if acked >= total:
                    done.set()

    placement = [clients[0], clients[0], clients[-1]]
    members = [asyncio.create_task(member(c, f"m{i}")) for i, c in enumerate(placement)]
    await asyncio.sleep(0.5)  # the members have joined
    bodies = [
        _webhook(f"call.bench.e{n}", f"throughput-{call}")
        for n in range(EVENTS_PER_CALL)
        for call in range(CALLS)
    ]
    signed = [(raw, poster.signer.sign_telnyx(raw, int(time.time()))) for raw, _ in bodies]
    queue: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()
    for item in signed:
        queue.put_nowait(item)

    async def sender() -> None:
        while not queue.empty():
            raw, headers = queue.get_nowait()
            await poster.post(raw, headers)

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
    async with asyncio.timeout(STEP_TIMEOUT_S):
        await done.wait()
    elapsed = time.perf_counter() - started
    for task in members:
        task.cancel()
    await asyncio.gather(*members, return_exceptions=True)
    return (f"subscription throughput, 3 members with acks, {backend}", f"{total / elapsed:.0f}", "events/s")


async def measure_handover(backend: str, clients: list[VoiceClient], poster: _Poster) -> Row:
    """Time from a member's stream ending to its unacked call event reaching another member."""
    name = await _create(clients[0], "bench-handover")
    samples = []
    for round_number in range(HANDOVER_ROUNDS):
        session = f"handover-{round_number}"
        # Alone in the group, the holder takes the call; then the taker joins (on the other replica).
        holder = await clients[0].pull(name, member_id="holder").ready()
        held = await poster.event("call.initiated", session)
        message = await _next(holder)
        assert message.event.id == held
        taker = await clients[-1].pull(name, member_id="taker").ready()
        following = await poster.event("call.answered", session)  # waits behind the unacked event
        await asyncio.sleep(0.05)
        ended = time.perf_counter()
        await holder.aclose()
        message = await _next(taker)
        samples.append(time.perf_counter() - ended)
        assert message.event.id == held
        await message.ack()
        message = await _next(taker)
        assert message.event.id == following
        await message.ack()
        await taker.aclose()
    p50, worst = statistics.median(samples) * 1000, max(samples) * 1000
    return (
        f"member stream end → call's event at another member, {backend}",
        f"{p50:.0f} / {worst:.0f}",
        "ms p50 / max",
    )


async def measure_silent(backend: str, clients: list[VoiceClient], poster: _Poster) -> Row:
    """Time from a delivery to its redelivery when the member never answers (1 s ack deadline)."""
    name = await _create(clients[0], "bench-silent", ack_deadline_s=1.0)
    samples = []
    async with clients[-1].pull(name, member_id="silent") as pull:
        for round_number in range(SILENT_ROUNDS):
            event_id = await poster.event("call.initiated", f"silent-{round_number}")
            first = await _next(pull)
            delivered = time.perf_counter()
            assert first.event.id == event_id
            again = await _next(pull)
            samples.append(time.perf_counter() - delivered)
            assert again.event.id == event_id
            await again.ack()
    return (
        f"silent member → redelivery (ack deadline 1 s), {backend}",
        f"{statistics.median(samples):.2f}",
        "s p50",
    )


async def run() -> list[Row]:
    """Every measurement on both backends, as (metric, value, unit) rows."""
    signer = Signer.generate()
    rows: list[Row] = []
    for backend in ("memory", "nats"):
        async with (
            _replicas(backend, signer.public_key_b64) as replicas,
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as http,
            contextlib.AsyncExitStack() as stack,
        ):
            clients = [await stack.enter_async_context(VoiceClient(r.target)) for r in replicas]
            poster = _Poster(http, signer, replicas)
            try:
                rows.append(await measure_throughput(backend, clients, poster))
                rows.append(await measure_handover(backend, clients, poster))
                rows.append(await measure_silent(backend, clients, poster))
            except (grpc.aio.AioRpcError, TimeoutError, RuntimeError) as exc:
                rows.append((f"subscriptions, {backend}", "failed", str(exc)[:60]))
    return rows


if __name__ == "__main__":
    for metric, value, unit in asyncio.run(run()):
        print(f"{metric:<70} {value:>12}  {unit}")


async def case(rounds: int) -> list[Section]:
    """The registered case: the worker-group figures as one section."""
    return [section("Worker groups (Subscriptions)", await run())]
