"""Event pipeline benchmark: webhook ingest, WatchEvents fan-out latency, memory per idle subscriber.

Each measurement runs against a real `voicesvc serve` child process (embedded sandbox, memory event log) on
loopback, driven from this process over real HTTP and gRPC:

* ingest: signed webhook POSTs accepted per second through `/webhooks/telnyx` (fixed count, fixed
  concurrency; bodies are signed before the clock starts);
* fan-out: time from sending a webhook until each of N subscribers has read it, p50 and p99 over every
  (round, subscriber) pair; includes the HTTP append and this process reading N streams;
* idle memory: the server's RSS growth while 2000 WatchEvents streams sit idle, divided by 2000
  (measured on a fresh server process).

Run with `python -m bench.events`; `run()` returns the rows for a combined table.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import grpc

from tests.support.voicesvc_process import ServerProcess, start_server, stop_server
from voicesvc.v1 import events_pb2, events_pb2_grpc
from voicesvc.webhooks import Signer

WEBHOOK_PATH = "/webhooks/telnyx"
INGEST_POSTS = 3000
INGEST_CONCURRENCY = 32
FANOUT_SUBSCRIBERS = (1, 100, 1000)
FANOUT_ROUNDS = 20
IDLE_SUBSCRIBERS = 2000
STREAMS_PER_CHANNEL = 250
STEP_TIMEOUT_S = 30.0

Row = tuple[str, str, str]


def rss_bytes(server: ServerProcess) -> int | None:
    """Resident set size of the server process (Linux `/proc`), or None where unavailable."""
    try:
        status = Path(f"/proc/{server.process.pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


@asynccontextmanager
async def serving(public_key: str) -> AsyncIterator[ServerProcess]:
    """A `voicesvc serve` child trusting `public_key`, stopped on exit."""
    env = {"VOICESVC_EVENTS_BACKEND": "memory", "VOICESVC_GRACE_PERIOD": "1", "TELNYX_PUBLIC_KEY": public_key}
    server = await asyncio.to_thread(start_server, env)
    try:
        yield server
    finally:
        await asyncio.to_thread(stop_server, server)


def _webhook(event_type: str = "call.answered") -> tuple[bytes, str]:
    event_id = str(uuid.uuid4())
    body = {
        "data": {
            "id": event_id,
            "event_type": event_type,
            "occurred_at": "2024-01-01T00:00:00.000000Z",
            "payload": {
                "call_control_id": "v3:bench",
                "call_session_id": "bench-session",
                "connection_id": "bench-conn",
                "from": "+15550100000",
                "to": "+15550100001",
            },
            "record_type": "event",
        },
        "meta": {"attempt": 1},
    }
    return json.dumps(body).encode(), event_id


async def _post(http: aiohttp.ClientSession, url: str, raw: bytes, headers: dict[str, str]) -> None:
    async with http.post(url, data=raw, headers=headers) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"webhook refused with HTTP {response.status}")


async def measure_ingest(server: ServerProcess, signer: Signer, http: aiohttp.ClientSession) -> Row:
    """Accepted webhook POSTs per second (`INGEST_POSTS` of them, `INGEST_CONCURRENCY` at a time)."""
    url = server.http_url + WEBHOOK_PATH
    now = int(time.time())
    signed = [(raw, signer.sign_telnyx(raw, now)) for raw, _ in (_webhook() for _ in range(INGEST_POSTS))]
    queue: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()
    for item in signed:
        queue.put_nowait(item)

    async def worker() -> None:
        while not queue.empty():
            raw, headers = queue.get_nowait()
            await _post(http, url, raw, headers)

    started = time.perf_counter()
    async with asyncio.timeout(STEP_TIMEOUT_S * 2):
        await asyncio.gather(*(worker() for _ in range(INGEST_CONCURRENCY)))
    elapsed = time.perf_counter() - started
    return (
        f"webhook ingest ({INGEST_CONCURRENCY} concurrent, memory log)",
        f"{INGEST_POSTS / elapsed:.0f}",
        "POST/s",
    )


@dataclass
class _Subscribers:
    """N WatchEvents streams recording when each event id arrives."""

    expected: int
    arrivals: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    complete: dict[str, asyncio.Event] = field(default_factory=dict)
    opened: int = 0
    all_open: asyncio.Event = field(default_factory=asyncio.Event)

    def waiter(self, event_id: str) -> asyncio.Event:
        return self.complete.setdefault(event_id, asyncio.Event())

    async def read(self, call: grpc.aio.UnaryStreamCall) -> None:
        first = True
        async for item in call:
            if first:
                first = False
                self.opened += 1
                if self.opened == self.expected:
                    self.all_open.set()
            if item.WhichOneof("kind") == "event":
                arrived = self.arrivals[item.event.id]
                arrived.append(time.perf_counter())
                if len(arrived) == self.expected:
                    self.waiter(item.event.id).set()


@asynccontextmanager
async def subscribers(server: ServerProcess, count: int) -> AsyncIterator[_Subscribers]:
    """`count` open WatchEvents streams (start now, no filter), ready once each sent its opening heartbeat."""
    channels = [
        grpc.aio.insecure_channel(server.target) for _ in range(max(1, -(-count // STREAMS_PER_CHANNEL)))
    ]
    subs = _Subscribers(count)
    calls = [
        events_pb2_grpc.EventStreamStub(channels[i % len(channels)]).WatchEvents(
            events_pb2.WatchEventsRequest(start=events_pb2.START_POSITION_NOW)
        )
        for i in range(count)
    ]
    tasks = [asyncio.create_task(subs.read(call)) for call in calls]
    try:
        async with asyncio.timeout(STEP_TIMEOUT_S):
            await subs.all_open.wait()
        yield subs
    finally:
        for call in calls:
            call.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in channels:
            await channel.close()


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure_fanout(
    server: ServerProcess, signer: Signer, http: aiohttp.ClientSession, count: int
) -> list[Row]:
    """p50/p99 of webhook-sent → event-read latency over `FANOUT_ROUNDS` events and `count` subscribers."""
    url = server.http_url + WEBHOOK_PATH
    latencies: list[float] = []
    async with subscribers(server, count) as subs:
        for _ in range(FANOUT_ROUNDS):
            raw, event_id = _webhook()
            headers = signer.sign_telnyx(raw)
            done = subs.waiter(event_id)
            sent = time.perf_counter()
            await _post(http, url, raw, headers)
            async with asyncio.timeout(STEP_TIMEOUT_S):
                await done.wait()
            latencies += [t - sent for t in subs.arrivals[event_id]]
    label = f"fan-out latency, {count} subscriber{'s' if count > 1 else ''}"
    return [
        (f"{label} p50", f"{statistics.median(latencies) * 1000:.2f}", "ms"),
        (f"{label} p99", f"{_percentile(latencies, 0.99) * 1000:.2f}", "ms"),
    ]


async def measure_idle_memory(server: ServerProcess) -> list[Row]:
    """Server RSS growth per idle WatchEvents stream."""
    async with subscribers(server, 10):  # warm up the code paths before the baseline
        pass
    await asyncio.sleep(0.5)
    before = rss_bytes(server)
    if before is None:
        return [("memory per idle subscriber", "n/a", "(no /proc)")]
    async with subscribers(server, IDLE_SUBSCRIBERS):
        await asyncio.sleep(0.5)
        after = rss_bytes(server) or before
    per_stream = (after - before) / IDLE_SUBSCRIBERS
    return [
        (f"memory per idle subscriber ({IDLE_SUBSCRIBERS} streams)", f"{per_stream / 1024:.1f}", "KiB"),
        (f"server RSS with {IDLE_SUBSCRIBERS} idle streams", f"{after / 2**20:.1f}", "MiB"),
    ]


async def run() -> list[Row]:
    """Every measurement, as (metric, value, unit) rows."""
    signer = Signer.generate()
    rows: list[Row] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=INGEST_CONCURRENCY)) as http:
        async with serving(signer.public_key_b64) as server:
            rows.append(await measure_ingest(server, signer, http))
            for count in FANOUT_SUBSCRIBERS:
                rows += await measure_fanout(server, signer, http, count)
        async with serving(signer.public_key_b64) as server:
            rows += await measure_idle_memory(server)
    return rows


def format_table(rows: Sequence[Row]) -> str:
    """A plain text table of the rows."""
    header = ("metric", "value", "unit")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(3)]
    lines = [f"{header[0]:<{widths[0]}}  {header[1]:>{widths[1]}}  {header[2]}"]
    lines.append("-" * (sum(widths) + 4))
    lines += [f"{m:<{widths[0]}}  {v:>{widths[1]}}  {u}" for m, v, u in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_table(asyncio.run(run())))
