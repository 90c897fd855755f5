"""Event fan-out: what one event costs and how fast it reaches the subscribers that want it.

* delivery: 1,000 `WatchEvents` streams each filtered to its own call plus 10 unfiltered ones; signed
  webhooks for those calls (round robin) at a steady 200 per second. Latency runs from the moment a
  webhook is due to be sent until a subscriber has read its event, over every (event, subscriber) pair;
  an event that does not arrive in time counts as missing.
* cost per event: 100, then 1,000, then 5,000 connected streams, each filtered to its own call; webhooks
  at 300 per second, each matching one stream, in four windows alternating with idle windows as long. The
  server's CPU per event is the event windows' CPU less the idle windows' (heartbeats, NATS pull renewals),
  so only the event's own work shows.
* memory per idle subscriber: the server's RSS growth while 5,000 streams are opened (not while events are
  sent between the steps), per stream.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
import grpc

from bench import processes
from bench.harness import CpuClock, percentile, rss_bytes
from bench.ingest import webhook_body
from bench.report import CHART_QUANTILES, Section, Target
from voicesvc.v1 import events_pb2, events_pb2_grpc
from voicesvc.webhooks import Signer

__all__ = ["CostPoint", "DeliveryResult", "FanoutResult", "case_memory", "case_nats", "measure", "section"]

WEBHOOK_PATH = "/webhooks/telnyx"
FILTERED = 1000
UNFILTERED = 10
DELIVERY_RATE = 200
DELIVERY_SECONDS = 5.0
CONNECTED = (100, 1000, 5000)
COST_RATE = 300
COST_SECONDS = 3.0
COST_WINDOWS = 4
STREAMS_PER_CHANNEL = 250
ARRIVAL_TIMEOUT_S = 20.0
OPEN_TIMEOUT_S = 20.0


def _call_id(index: int) -> str:
    return f"v3:bench-call-{index:05d}"


@dataclass
class DeliveryResult:
    """Latencies (seconds) of every delivered (event, subscriber) pair, and how many never arrived."""

    latencies_s: list[float]
    expected: int
    missing: int
    events: int
    server_cpu_s: float


@dataclass
class CostPoint:
    """Server CPU per event with `connected` streams open."""

    connected: int
    cpu_per_event_ms: float
    idle_cpu_per_s_ms: float


@dataclass
class FanoutResult:
    """The fan-out figures of one backend."""

    backend: str
    delivery: DeliveryResult
    cost: list[CostPoint]
    idle_kib_per_stream: float
    idle_rss_mib: float


@dataclass
class _Streams:
    """Open WatchEvents streams recording when each event arrives at each of them."""

    arrivals: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    opened: int = 0
    wanted: int = 0
    all_open: asyncio.Event = field(default_factory=asyncio.Event)
    channels: list[grpc.aio.Channel] = field(default_factory=list)
    calls: list[grpc.aio.UnaryStreamCall[events_pb2.WatchEventsRequest, events_pb2.WatchEventsResponse]] = (
        field(default_factory=list)
    )
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def _read(
        self, call: grpc.aio.UnaryStreamCall[events_pb2.WatchEventsRequest, events_pb2.WatchEventsResponse]
    ) -> None:
        first = True
        async for item in call:
            if first:
                first = False
                self.opened += 1
                if self.opened >= self.wanted:
                    self.all_open.set()
            if item.WhichOneof("kind") == "event":
                self.arrivals[item.event.id].append(time.perf_counter())

    async def open(self, target: str, requests: list[events_pb2.WatchEventsRequest]) -> None:
        """Open one stream per request (more channels as needed) and wait until each said it is open."""
        self.wanted += len(requests)
        self.all_open.clear()
        for request in requests:
            if len(self.calls) >= len(self.channels) * STREAMS_PER_CHANNEL:
                self.channels.append(grpc.aio.insecure_channel(target))
            call = events_pb2_grpc.EventStreamStub(self.channels[-1]).WatchEvents(request)
            self.calls.append(call)
            self.tasks.append(asyncio.create_task(self._read(call)))
        deadline = time.perf_counter() + OPEN_TIMEOUT_S
        while not self.all_open.is_set():
            failed = [task for task in self.tasks if task.done()]
            if failed:
                error = failed[0].exception()
                why = (
                    f"{error.code().name}: {error.details()}"
                    if isinstance(error, grpc.aio.AioRpcError)
                    else repr(error)
                )
                raise RuntimeError(f"stream {self.opened + 1} of {self.wanted} could not open: {why}")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"only {self.opened} of {self.wanted} WatchEvents streams opened")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        """Cancel every stream and close the channels."""
        for call in self.calls:
            call.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for channel in self.channels:
            await channel.close()


@asynccontextmanager
async def _streams() -> AsyncIterator[_Streams]:
    streams = _Streams()
    try:
        yield streams
    finally:
        await streams.close()


def _filtered(call_ids: range) -> list[events_pb2.WatchEventsRequest]:
    return [
        events_pb2.WatchEventsRequest(
            start=events_pb2.START_POSITION_NOW,
            filter=events_pb2.EventFilter(call_control_ids=[_call_id(i)]),
        )
        for i in call_ids
    ]


async def _send_paced(
    http: aiohttp.ClientSession, url: str, signer: Signer, calls: int, rate: int, seconds: float
) -> dict[str, float]:
    """Send `rate` webhooks a second for `seconds`, for calls 0..calls-1 in turn; event id → due time."""
    count = int(rate * seconds)
    now = int(time.time())
    bodies = [webhook_body(call_control_id=_call_id(i % calls)) for i in range(count)]
    signed = [(raw, signer.sign_telnyx(raw, now)) for raw in bodies]
    due: dict[str, float] = {}

    async def post(raw: bytes, headers: dict[str, str]) -> None:
        async with http.post(url, data=raw, headers=headers) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"webhook refused with HTTP {response.status}")

    pending: list[asyncio.Task[None]] = []
    start = time.perf_counter() + 0.05
    for index, (raw, headers) in enumerate(signed):
        at = start + index / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        due[json.loads(raw)["data"]["id"]] = at
        pending.append(asyncio.create_task(post(raw, headers)))
    # A server that cannot keep up leaves webhooks unanswered: they count as missing, the run goes on.
    _, late = await asyncio.wait(pending, timeout=ARRIVAL_TIMEOUT_S)
    for task in late:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return due


async def _wait_arrivals(streams: _Streams, due: dict[str, float], per_event: int) -> None:
    deadline = time.perf_counter() + ARRIVAL_TIMEOUT_S
    while time.perf_counter() < deadline:
        if all(len(streams.arrivals.get(event_id, ())) >= per_event for event_id in due):
            return
        await asyncio.sleep(0.05)


async def _delivery(
    target: str, url: str, signer: Signer, http: aiohttp.ClientSession, pid: int
) -> DeliveryResult:
    clock = CpuClock(pid)
    async with _streams() as streams:
        await streams.open(target, _filtered(range(FILTERED)))
        await streams.open(
            target, [events_pb2.WatchEventsRequest(start=events_pb2.START_POSITION_NOW)] * UNFILTERED
        )
        # The earlier cases left this (measuring) process full of objects: a full collection of them in the
        # middle of the run is a pause of the load generator, not of the server. Collect now, then keep them
        # out of later collections.
        gc.collect()
        gc.freeze()
        try:
            cpu0 = clock.read()
            due = await _send_paced(http, url, signer, FILTERED, DELIVERY_RATE, DELIVERY_SECONDS)
            await _wait_arrivals(streams, due, 1 + UNFILTERED)
            cpu = clock.read() - cpu0
        finally:
            gc.unfreeze()
        latencies = [t - due[event_id] for event_id in due for t in streams.arrivals.get(event_id, ())]
    expected = len(due) * (1 + UNFILTERED)
    return DeliveryResult(latencies, expected, expected - len(latencies), len(due), cpu)


async def _cost(
    target: str, url: str, signer: Signer, http: aiohttp.ClientSession, pid: int
) -> tuple[list[CostPoint], float, float]:
    clock = CpuClock(pid)
    points = []
    async with _streams() as streams:
        await streams.open(target, _filtered(range(10)))  # warm the code paths before the baseline
        await asyncio.sleep(0.5)
        # Only what opening streams adds counts for them: the events sent in between (stored, projected)
        # grow the server too.
        stream_growth = 0
        opened = 10
        for connected in CONNECTED:
            rss_before = rss_bytes(pid)
            await streams.open(target, _filtered(range(opened, connected)))
            opened = connected
            await asyncio.sleep(0.5)
            stream_growth += rss_bytes(pid) - rss_before
            # Windows with events alternate with idle windows as long: what idle streams spend at moments of
            # their own (NATS pull renewals come in bursts) falls into both kinds alike, and cancels out.
            busy = idle = idle_s = 0.0
            events = 0
            for _ in range(COST_WINDOWS):
                cpu0, t0 = clock.read(), time.perf_counter()
                due = await _send_paced(http, url, signer, connected, COST_RATE, COST_SECONDS / COST_WINDOWS)
                await _wait_arrivals(streams, due, 1)
                span = time.perf_counter() - t0
                busy += clock.read() - cpu0
                events += len(due)
                cpu0, t0 = clock.read(), time.perf_counter()
                await asyncio.sleep(span)
                idle += clock.read() - cpu0
                idle_s += time.perf_counter() - t0
            points.append(CostPoint(connected, (busy - idle) / events * 1000, idle / idle_s * 1000))
        rss_after = rss_bytes(pid)
    per_stream = stream_growth / (CONNECTED[-1] - 10) / 1024
    return points, per_stream, rss_after / 2**20


async def measure(backend: str) -> FanoutResult:
    """Run the fan-out scenario on `backend` ("memory" or "nats"), each part on a fresh server."""
    signer = Signer.generate()
    env = {
        "TELNYX_API_KEY": "KEY_bench_0123456789",
        "TELNYX_API_BASE_URL": "http://127.0.0.1:9/v2",
        "TELNYX_PUBLIC_KEY": signer.public_key_b64,
        "VOICESVC_GRACE_PERIOD": "1",
    }
    async with AsyncExitStack() as stack:
        if backend == "nats":
            nats = stack.enter_context(processes.nats_server())
            env["VOICESVC_EVENTS_BACKEND"] = nats.url
        http = await stack.enter_async_context(
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
        )
        with processes.voicesvc(env) as server:
            url = server.http_url + WEBHOOK_PATH
            delivery = await _delivery(server.target, url, signer, http, server.process.pid)
        with processes.voicesvc(env) as server:
            url = server.http_url + WEBHOOK_PATH
            cost, per_stream, rss_mib = await _cost(server.target, url, signer, http, server.process.pid)
    return FanoutResult(backend, delivery, cost, per_stream, rss_mib)


def section(result: FanoutResult) -> Section:
    """The fan-out table and its targets for one backend."""
    delivery = result.delivery
    p50 = percentile(delivery.latencies_s, 0.5) * 1000
    p99 = percentile(delivery.latencies_s, 0.99) * 1000
    # A missing delivery counts as later than every delivered one.
    p99_all = p99 if delivery.missing == 0 else float("inf")
    rows = [
        [
            f"{FILTERED} filtered + {UNFILTERED} unfiltered, {DELIVERY_RATE} events/s",
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms",
            f"{delivery.expected - delivery.missing:,}/{delivery.expected:,} delivered",
            f"{delivery.server_cpu_s / delivery.events * 1000:.2f} ms CPU/event",
        ]
    ]
    rows += [
        [
            f"{point.connected:,} connected, each filtered to its own call, {COST_RATE} events/s",
            f"{point.cpu_per_event_ms:.3f} ms CPU/event",
            "1 match per event",
            f"idle: {point.idle_cpu_per_s_ms:.1f} ms CPU/s",
        ]
        for point in result.cost
    ]
    rows.append(
        [
            f"{CONNECTED[-1]:,} idle streams",
            f"{result.idle_kib_per_stream:.1f} KiB/stream",
            f"server RSS {result.idle_rss_mib:.0f} MiB",
            "",
        ]
    )
    first, last = result.cost[0], result.cost[-1]
    backend = result.backend
    targets = [
        Target(f"fan-out ({backend}): delivery p99, every event delivered", p99_all, 50.0, "ms"),
        Target(
            f"fan-out ({backend}): CPU/event at {last.connected:,} connected vs {first.connected:,}",
            # A cost at or below zero means the idle streams' own CPU swamped the events': no figure.
            last.cpu_per_event_ms / first.cpu_per_event_ms
            if first.cpu_per_event_ms > 0 and last.cpu_per_event_ms > 0
            else float("nan"),
            1.5,
            "x",
            how="cost follows matches, not connections",
        ),
        Target(f"fan-out ({backend}): memory per idle subscriber", result.idle_kib_per_stream, 32.0, "KiB"),
    ]
    charts = {
        f"fan-out delivery latency ({backend}), {FILTERED} filtered + {UNFILTERED} unfiltered at "
        f"{DELIVERY_RATE}/s": {backend: [percentile(delivery.latencies_s, q) * 1000 for q in CHART_QUANTILES]}
    }
    notes = [
        (
            "Delivery latency runs from when a webhook was due to be sent to when a subscriber read it; the "
            "cost per event is the server's CPU in four windows with events less its CPU in four idle "
            "windows as long, alternated (idle: the server's CPU per second in the idle windows)."
        )
    ]
    return Section(
        f"Event fan-out ({backend} log)", ["scenario", "figure", "", ""], rows, targets, notes, charts
    )


async def case_memory(rounds: int) -> list[Section]:
    """The registered case on the memory log (one pass: each step is long enough on its own)."""
    return await _case("memory")


async def case_nats(rounds: int) -> list[Section]:
    """The registered case on the NATS log."""
    return await _case("nats")


async def _case(backend: str) -> list[Section]:
    try:
        result = await measure(backend)
    except RuntimeError as exc:
        return [failed_section(backend, str(exc).splitlines()[0][:300])]
    return [section(result)]


def failed_section(backend: str, reason: str) -> Section:
    """The section of a fan-out run that could not complete: why, and every target not met."""
    nan = float("nan")
    targets = [
        Target(f"fan-out ({backend}): delivery p99, every event delivered", nan, 50.0, "ms"),
        Target(
            f"fan-out ({backend}): CPU/event at {CONNECTED[-1]:,} connected vs {CONNECTED[0]:,}",
            nan,
            1.5,
            "x",
        ),
        Target(f"fan-out ({backend}): memory per idle subscriber", nan, 32.0, "KiB"),
    ]
    return Section(
        f"Event fan-out ({backend} log)", ["scenario", "figure"], [["run failed", reason]], targets
    )


async def _both() -> list[Section]:
    return await case_memory(1) + await case_nats(1)


if __name__ == "__main__":
    from bench import report

    print(report.text(asyncio.run(_both()), "voicesvc fan-out benchmark (python -m bench.fanout)"))
