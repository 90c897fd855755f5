"""A sustained load on one `voicesvc serve`: 500 idle filtered subscribers must cost nothing.

For `LOAD_S` seconds (30 by default; `VOICESVC_RELIABILITY_LOAD_S` changes it): 500 WatchEvents streams
each filtered to a call that never has an event, 20 active streams each filtered to one busy call, 200
signed webhooks/s spread over the busy calls and 100 commands/s on live legs. Every webhook must be
accepted, every command answered, every active stream must receive exactly its call's events in order,
and the server's memory must stay flat once the event log's retention is reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from collections import defaultdict

import aiohttp
import grpc
import pytest

from tests.reliability.support import FIGURES, SecretScan, rss_bytes, sandbox_api_key
from tests.support.events import Watcher, webhook_body
from tests.support.stack import eventually
from tests.support.voicesvc_process import start_server, stop_server
from voicesvc.server.http import WEBHOOK_PATH
from voicesvc.v1 import call_control_pb2, call_control_pb2_grpc
from voicesvc.webhooks import Signer

LOAD_S = float(os.environ.get("VOICESVC_RELIABILITY_LOAD_S", "30"))
IDLE, ACTIVE = 500, 20
WEBHOOKS_PER_S, COMMANDS_PER_S = 200, 100
TICK_S = 0.05
LEGS = 10
RETAINED_EVENTS = 1000
# Webhooks sent before the measured load, so every bounded buffer (the log's retention, the calls
# projection's feed of changes) is full when memory is first sampled: growth after that is a leak.
WARM_UP_EVENTS = 12_000
CHANNELS = 10
COMMAND_DEADLINE_S = 5.0
# Memory may grow by this much after the log's retention is full (allocator noise), not with the load.
FLAT_MEMORY_SLACK = 16 * 1024 * 1024


def _channel(target: str) -> grpc.aio.Channel:
    # A subchannel of its own, so the streams spread over several connections.
    return grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])


@pytest.mark.timeout(300)
async def test_500_idle_filtered_and_20_active_subscribers_hold_under_load(scan: SecretScan) -> None:
    signer = Signer.generate()
    scan.add_secret(signer.private_key_b64)
    env = {
        "TELNYX_PUBLIC_KEY": signer.public_key_b64,
        "VOICESVC_EVENTS_MAX_EVENTS": str(RETAINED_EVENTS),
        "VOICESVC_GRACE_PERIOD": "1",
    }
    server = await asyncio.to_thread(start_server, env)
    errors: list[str] = []
    sent_at: dict[str, float] = {}
    sent_per_call: dict[str, list[str]] = defaultdict(list)
    received: dict[str, list[str]] = defaultdict(list)
    latencies: list[float] = []
    memory: list[tuple[float, int]] = []
    commands_done = webhooks_done = 0
    try:
        scan.add_secret(sandbox_api_key(server.log_path.read_text()))
        async with contextlib.AsyncExitStack() as exits:
            channels = [await exits.enter_async_context(_channel(server.target)) for _ in range(CHANNELS)]
            http = await exits.enter_async_context(
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
            )
            stub = call_control_pb2_grpc.CallControlStub(channels[0])
            legs = []
            for n in range(LEGS):
                request = call_control_pb2.DialCallRequest(
                    connection_id="conn-load", to_string=f"+1555030{n:04d}"
                )
                setattr(request, "from", "+15550100000")
                dialled = await stub.DialCall(
                    request,
                    timeout=COMMAND_DEADLINE_S,
                )
                legs.append(dialled.call_control_id)

            warm_up = asyncio.Semaphore(32)

            async def warm(n: int) -> None:
                raw, _ = webhook_body(
                    "call.dtmf.received", {"call_control_id": f"v3:warm-{n % 50}", "digit": "2"}
                )
                async with (
                    warm_up,
                    http.post(
                        server.http_url + WEBHOOK_PATH, data=raw, headers=signer.sign_telnyx(raw)
                    ) as response,
                ):
                    assert response.status == 200, await response.text()

            await asyncio.gather(*(warm(n) for n in range(WARM_UP_EVENTS)))

            idle = [
                await Watcher.open(channels[n % CHANNELS], call_control_ids=[f"v3:idle-{n}"])
                for n in range(IDLE)
            ]
            busy_calls = [f"v3:busy-{n}" for n in range(ACTIVE)]
            active = {
                call: await Watcher.open(channels[n % CHANNELS], call_control_ids=[call])
                for n, call in enumerate(busy_calls)
            }

            async def read_active(call: str, watcher: Watcher) -> None:
                # Runs until cancelled once every event arrived; only a failed stream ends it earlier.
                while True:
                    try:
                        event = await watcher.event(within=LOAD_S + 60)
                    except grpc.aio.AioRpcError as error:
                        scan.add_rpc_error("WatchEvents", error)
                        errors.append(f"active stream {call} ended: {error.code().name}")
                        return
                    received[call].append(event.id)
                    latencies.append(time.monotonic() - sent_at[event.id])

            async def post_webhook(n: int) -> None:
                nonlocal webhooks_done
                call = busy_calls[n % ACTIVE]
                raw, event_id = webhook_body(
                    "call.dtmf.received", {"call_control_id": call, "digit": "1", "n": n}
                )
                sent_per_call[call].append(event_id)
                sent_at[event_id] = time.monotonic()
                try:
                    async with http.post(
                        server.http_url + WEBHOOK_PATH, data=raw, headers=signer.sign_telnyx(raw)
                    ) as response:
                        if response.status != 200:
                            errors.append(f"webhook {n}: HTTP {response.status}: {await response.text()}")
                except aiohttp.ClientError as exc:
                    errors.append(f"webhook {n}: {exc!r}")
                webhooks_done += 1

            async def command(n: int) -> None:
                nonlocal commands_done
                leg = legs[n % LEGS]
                try:
                    if n % 2:
                        await stub.GetCallStatus(
                            call_control_pb2.GetCallStatusRequest(call_control_id=leg),
                            timeout=COMMAND_DEADLINE_S,
                        )
                    else:
                        await stub.UpdateClientState(
                            call_control_pb2.UpdateClientStateRequest(
                                call_control_id=leg, client_state="bG9hZA=="
                            ),
                            timeout=COMMAND_DEADLINE_S,
                        )
                except grpc.aio.AioRpcError as error:
                    scan.add_rpc_error("command", error)
                    errors.append(f"command {n}: {error.code().name}: {error.details()}")
                commands_done += 1

            readers = [asyncio.create_task(read_active(c, w)) for c, w in active.items()]
            in_flight: set[asyncio.Task[None]] = set()
            started = time.monotonic()
            webhooks = commands = 0
            next_sample = started
            while (now := time.monotonic()) - started < LOAD_S:
                elapsed = now - started
                while webhooks < elapsed * WEBHOOKS_PER_S:
                    in_flight.add(asyncio.create_task(post_webhook(webhooks)))
                    webhooks += 1
                while commands < elapsed * COMMANDS_PER_S:
                    in_flight.add(asyncio.create_task(command(commands)))
                    commands += 1
                in_flight = {t for t in in_flight if not t.done()}
                if now >= next_sample:
                    memory.append((elapsed, rss_bytes(server.process.pid)))
                    next_sample += 1.0
                await asyncio.sleep(TICK_S)
            duration = time.monotonic() - started
            await asyncio.gather(*in_flight)

            def all_delivered() -> bool:
                failed = any(task.done() for task in readers)
                return failed or all(len(received[c]) >= len(sent_per_call[c]) for c in busy_calls)

            await eventually(all_delivered, limit=30)
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
            # The idle streams are still open and received no event.
            for watcher in idle:
                assert not watcher.call.done()
                watcher.cancel()
            for watcher in active.values():
                watcher.cancel()
    finally:
        log = server.log_path.read_text(encoding="utf-8", errors="replace")
        scan.add("server log", log)
        await asyncio.to_thread(stop_server, server)

    assert not errors, f"{len(errors)} errors, first: {errors[:10]}"
    for call in busy_calls:
        assert received[call] == sent_per_call[call], call
    settled = [rss for at, rss in memory if at >= LOAD_S / 3]
    growth = settled[-1] - settled[0]
    assert growth <= FLAT_MEMORY_SLACK, f"memory grew by {growth / 2**20:.1f} MiB after the retention filled"
    ordered = sorted(latencies)
    FIGURES.record(
        "load",
        seconds=round(duration, 1),
        idle_subscribers=IDLE,
        active_subscribers=ACTIVE,
        webhooks=webhooks_done,
        webhooks_per_s=round(webhooks_done / duration),
        commands=commands_done,
        commands_per_s=round(commands_done / duration),
        errors=len(errors),
        delivery_p50_ms=round(statistics.median(ordered) * 1000, 1),
        delivery_p99_ms=round(ordered[int(len(ordered) * 0.99)] * 1000, 1),
        rss_mib_start=round(memory[0][1] / 2**20, 1),
        rss_mib_settled=round(settled[0] / 2**20, 1),
        rss_mib_end=round(settled[-1] / 2**20, 1),
    )
