"""The calls projection: its cost per event, memory per call, and GetCall through a real server.

The projection figures are measured in this process on stored events shaped as the sandbox sends them;
GetCall is measured against a `voicesvc serve` on its embedded sandbox (the read is local: no Telnyx
request is made).
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc
import uuid

import grpc

from bench.report import Section
from bench.rows import API_KEY, ROOT, section
from bench.rows import latencies as _latencies
from bench.rows import rows as _rows
from tests.support.voicesvc_process import start_server, stop_process, stop_server
from voicesvc.calls import CallStore, ChangeFeed, parse_event
from voicesvc.calls.reducer import CallEvent
from voicesvc.events.log import StoredEvent, encode_cursor
from voicesvc.v1 import call_control_commands_pb2 as commands_pb2
from voicesvc.v1 import call_control_pb2, calls_pb2, calls_pb2_grpc
from voicesvc.webhooks import Signer

Row = tuple[str, str, str]
CALLS = 5000
LIFE: tuple[tuple[str, dict[str, str]], ...] = (
    ("call.initiated", {"direction": "outgoing", "state": "bridging"}),
    ("call.answered", {"state": "answered"}),
    ("call.speak.started", {}),
    ("call.speak.ended", {"status": "completed"}),
    ("call.playback.started", {"media_url": "https://example.com/a.mp3"}),
    ("call.playback.ended", {"status": "completed"}),
    (
        "call.hangup",
        {"hangup_cause": "normal_clearing", "hangup_source": "caller", "sip_hangup_cause": "200"},
    ),
)


def _events(calls: int, steps: int = len(LIFE)) -> list[StoredEvent]:
    """`steps` events of each of `calls` calls, interleaved as concurrent calls are, in log order."""
    out: list[StoredEvent] = []
    ids = [f"v3:{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}" for _ in range(calls)]
    seq = 0
    for step, (event_type, extra) in enumerate(LIFE[:steps]):
        for n, ccid in enumerate(ids):
            seq += 1
            payload = {
                "call_control_id": ccid,
                "call_leg_id": str(uuid.uuid4()),
                "call_session_id": str(uuid.uuid4()),
                "connection_id": "bench",
                "client_state": "YmVuY2g=",
                "from": "+15551110000",
                "to": f"+1555{n:07d}",
                "start_time": "2026-01-01T10:00:00.000000Z",
                **extra,
            }
            data = {
                "id": str(uuid.uuid4()),
                "event_type": event_type,
                "occurred_at": f"2026-01-01T10:00:{step:02d}.{n % 1_000_000:06d}Z",
                "payload": payload,
                "record_type": "event",
            }
            raw = json.dumps({"data": data, "meta": {"attempt": 1}}).encode()
            out.append(StoredEvent(seq, encode_cursor(seq), str(data["id"]), event_type, time.time(), 1, raw))
    return out


def projection_rows() -> list[Row]:
    """Cost per event (parse + apply) while rebuilding, and memory per call held."""
    events = _events(CALLS)
    store = CallStore(max_calls=CALLS * 2)
    start = time.perf_counter()
    parsed: list[CallEvent | None] = [parse_event(e) for e in events]
    parse_s = time.perf_counter() - start
    start = time.perf_counter()
    for event in parsed:
        assert event is not None
        store.apply(event)
    apply_s = time.perf_counter() - start
    per_event = (parse_s + apply_s) / len(events)
    # Memory of live calls (answered, a playback running): the store's records and protos, with and without
    # the change feed (a fixed number of recent call snapshots, shared by every WatchCalls stream).
    live = [e for e in (parse_event(s) for s in _events(CALLS, steps=5)) if e is not None]
    used, changes = _memory(live, ChangeFeed())
    bare, _ = _memory(live, ChangeFeed(capacity=1))
    return [
        (f"projection: cost per event, parse + apply ({len(events)} events)", f"{per_event * 1e6:.1f}", "µs"),
        ("projection: rebuild rate", f"{1 / per_event:.0f}", "events/s"),
        (
            f"projection: memory per live call ({CALLS} answered; the feed's {changes} changes included)",
            f"{used / CALLS / 1024:.1f}",
            "KiB",
        ),
        ("projection: memory per live call, the store alone", f"{bare / CALLS / 1024:.1f}", "KiB"),
    ]


def _memory(events: list[CallEvent], feed: ChangeFeed) -> tuple[int, int]:
    """Bytes allocated by a store fed `events` (and kept by it), and the changes its feed holds."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    held = CallStore(max_calls=len(events), feed=feed)
    for event in events:
        held.apply(event)
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return used, len(feed._items)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_sandbox(webhook_url: str, signer: Signer) -> tuple[subprocess.Popen[bytes], str]:
    """A sandbox process that answers at once and signs its webhooks to `webhook_url` with `signer`."""
    argv = ["--port", "0", "--api-key", API_KEY, "--webhook-url", webhook_url]
    argv += ["--private-key", signer.private_key_b64, "--answer-delay", "0", "--media-delay", "0"]
    process = subprocess.Popen(
        [sys.executable, "-m", "voicesvc.sandbox.cli", *argv],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    return process, str(json.loads(process.stdout.readline())["base_url"])


async def getcall_rows() -> list[Row]:
    """GetCall (local read) and a dial that waits for its answer: sandbox and `voicesvc serve` processes."""
    signer = Signer.generate()
    http = f"127.0.0.1:{_free_port()}"
    sandbox, base_url = await asyncio.to_thread(_start_sandbox, f"http://{http}/webhooks/telnyx", signer)
    env = {
        "TELNYX_API_KEY": API_KEY,
        "TELNYX_API_BASE_URL": base_url,
        "TELNYX_PUBLIC_KEY": signer.public_key_b64,
        "VOICESVC_HTTP_LISTEN": http,
    }
    try:
        server = await asyncio.to_thread(start_server, env)
    except BaseException:
        await asyncio.to_thread(stop_process, sandbox)
        raise
    try:
        async with grpc.aio.insecure_channel(server.target) as channel:
            calls = calls_pb2_grpc.CallsStub(channel)
            dial = call_control_pb2.DialCallRequest(connection_id="bench", to_string="+15552220000")
            setattr(dial, "from", "+15551110000")
            command = commands_pb2.ExecuteCommandRequest(dial_call=dial)
            done = await calls.ExecuteCommand(command, timeout=10)
            name = f"calls/{done.dial_call.call_control_id}"
            get = await _latencies(lambda: calls.GetCall(calls_pb2.GetCallRequest(name=name)))
            dials = []
            for _ in range(100):
                t0 = time.perf_counter()
                await calls.ExecuteCommand(command, timeout=10)
                dials.append((time.perf_counter() - t0) * 1000)
    finally:
        await asyncio.to_thread(stop_server, server)
        await asyncio.to_thread(stop_process, sandbox)
    return [
        *_rows("GetCall through voicesvc (local state, no Telnyx request)", *get),
        (
            "ExecuteCommand DialCall until its call.answered webhook, p50 (sandbox answers at once)",
            f"{statistics.median(dials):.2f}",
            "ms",
        ),
    ]


async def run() -> list[Row]:
    """The table rows of the calls benchmarks."""
    return projection_rows() + await getcall_rows()


async def case(rounds: int) -> list[Section]:
    """The registered case: the calls figures as one section."""
    return [section("Calls projection and GetCall", await run())]
