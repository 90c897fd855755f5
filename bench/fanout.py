"""Fan-out benchmark: what one event costs while many idle subscribers, each filtered to its own call, are
connected (issue figures: 100 / 1,000 / 5,000 of them).

Against a real `voicesvc serve` child (embedded sandbox) on loopback, once with the memory event log and
once with NATS JetStream (a real `nats-server`), for each count N:

* N WatchEvents streams are opened, the i-th filtered to `call_control_ids=["v3:idle-i"]`, plus one stream
  filtered to the call the events are for;
* `EVENTS` signed webhooks for that call are posted one after the other, each waited for on the one
  matching stream;
* reported: the server's CPU per event (user + system time from `/proc`, of voicesvc, and of nats-server on
  NATS) and the p50 / p99 time from posting a webhook to the matching stream reading it.

When an event costs work per connected subscriber, both grow with N; filtered down to the log they stay
flat. Run with `python -m bench.fanout`; `run()` returns the rows for the combined table.

Measured on the 2-core development machine (500 events each), server CPU per event / delivery p99:

| idle subscribers | memory, before | memory | NATS, before | NATS |
|---|---|---|---|---|
| 100 | 1.1 ms / 2.9 ms | 0.72 ms / 2.0 ms | 4.3 ms / 6.4 ms | 1.0 ms / 4.2 ms |
| 1,000 | 12.9 ms / 101 ms | 0.52 ms / 1.4 ms | (refused past 1,000) | 1.2 ms / 2.8 ms |
| 5,000 | 103 ms / 769 ms | 0.50 ms / 4.7 ms | (refused past 1,000) | 1.0 ms / 4.3 ms |

("before": the id filters applied in the stream after every subscriber woke; NATS before at 500 idle
subscribers: 30.8 ms / 83 ms.)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import grpc

from bench.events import WEBHOOK_PATH, Row, _percentile, _post, _webhook, format_table
from tests.support.events import watch_request
from tests.support.nats import NatsServer
from tests.support.voicesvc_process import ServerProcess, start_server, stop_server
from voicesvc.v1 import events_pb2_grpc
from voicesvc.webhooks import Signer

IDLE_COUNTS = (100, 1000, 5000)
EVENTS = 500
STREAMS_PER_CHANNEL = 250
OPEN_BATCH = 100
STEP_TIMEOUT_S = 60.0
ACTIVE_CALL = "v3:bench"


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of process `pid` so far (Linux `/proc`; 0 elsewhere)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def idle_streams(server: ServerProcess, count: int) -> AsyncIterator[grpc.aio.UnaryStreamCall]:
    """`count` idle streams filtered to calls nobody posts for, and the one stream for `ACTIVE_CALL`
    (yielded), each open once it sent its opening heartbeat."""
    channels = [grpc.aio.insecure_channel(server.target) for _ in range(1 + count // STREAMS_PER_CHANNEL)]
    stubs = [events_pb2_grpc.EventStreamStub(channel) for channel in channels]
    calls: list[grpc.aio.UnaryStreamCall] = []
    try:
        async with asyncio.timeout(STEP_TIMEOUT_S):
            # Opened in batches, as subscribers come and go in practice rather than all in one instant.
            for first in range(0, count + 1, OPEN_BATCH):
                batch = [
                    stubs[i % len(stubs)].WatchEvents(
                        watch_request(
                            call_control_ids=[ACTIVE_CALL if i == count else f"v3:idle-{i}"], heartbeat_s=60
                        )
                    )
                    for i in range(first, min(first + OPEN_BATCH, count + 1))
                ]
                calls += batch
                for call in batch:
                    opening = await call.read()
                    assert opening is not grpc.aio.EOF
        active = calls[-1]
        yield active
    finally:
        for call in calls:
            call.cancel()
        for channel in channels:
            await channel.close()


async def measure(
    server: ServerProcess,
    signer: Signer,
    http: aiohttp.ClientSession,
    count: int,
    label: str,
    nats_pid: int | None,
) -> list[Row]:
    """CPU per event and delivery latency with `count` filtered idle streams connected."""
    url = server.http_url + WEBHOOK_PATH
    latencies: list[float] = []
    async with idle_streams(server, count) as active:
        await asyncio.sleep(0.5)  # let the opening settle before the CPU baseline
        cpu_before = cpu_seconds(server.process.pid) + cpu_seconds(nats_pid)
        for _ in range(EVENTS):
            raw, event_id = _webhook()
            headers = signer.sign_telnyx(raw)
            sent = time.perf_counter()
            await _post(http, url, raw, headers)
            async with asyncio.timeout(STEP_TIMEOUT_S):
                while True:
                    item = await active.read()
                    assert item is not grpc.aio.EOF
                    if item.WhichOneof("kind") == "event":
                        assert item.event.id == event_id
                        break
            latencies.append(time.perf_counter() - sent)
        cpu = cpu_seconds(server.process.pid) + cpu_seconds(nats_pid) - cpu_before
    prefix = f"one event, {count} filtered idle subscribers ({label})"
    return [
        (f"{prefix}: server CPU", f"{cpu / EVENTS * 1e6:.0f}", "µs/event"),
        (f"{prefix}: delivery p50", f"{statistics.median(latencies) * 1000:.2f}", "ms"),
        (f"{prefix}: delivery p99", f"{_percentile(latencies, 0.99) * 1000:.2f}", "ms"),
    ]


async def _backend(signer: Signer, env: dict[str, str], label: str, nats_pid: int | None) -> list[Row]:
    rows: list[Row] = []
    base = {"VOICESVC_GRACE_PERIOD": "1", "TELNYX_PUBLIC_KEY": signer.public_key_b64}
    server = await asyncio.to_thread(start_server, {**base, **env})
    try:
        async with aiohttp.ClientSession() as http:
            for count in IDLE_COUNTS:
                rows += await measure(server, signer, http, count, label, nats_pid)
                print(format_table(rows[-3:]), file=sys.stderr, flush=True)
    finally:
        await asyncio.to_thread(stop_server, server)
    return rows


async def run() -> list[Row]:
    """Every measurement on both backends, as (metric, value, unit) rows."""
    signer = Signer.generate()
    rows = await _backend(signer, {"VOICESVC_EVENTS_BACKEND": "memory"}, "memory", None)
    with tempfile.TemporaryDirectory() as store, NatsServer(Path(store)) as nats:
        rows += await _backend(signer, {"VOICESVC_EVENTS_BACKEND": nats.url}, "NATS", nats.pid)
    return rows


if __name__ == "__main__":
    print(format_table(asyncio.run(run())))
