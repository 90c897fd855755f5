"""Cost of the RPC ⇄ REST translation, and of unary RPCs through a real server.

The sandbox (standing in for Telnyx), `voicesvc serve` and the load generator run as three processes,
so the server's event loop does nothing but its own work. The same REST call made directly to the
sandbox is measured too: the difference is what the facade adds.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.reference import endpoints, request_schema, response_item_schema, sample
from tests.support.voicesvc_process import ServerProcess, start_server, stop_process, stop_server
from voicesvc.transcode import http, routes, wire
from voicesvc.v1 import call_control_pb2, call_control_pb2_grpc

Row = tuple[str, str, str]
ROOT = Path(__file__).resolve().parents[1]
API_KEY = "KEY_bench_0123456789"
SEQUENTIAL = 500
CONCURRENCY = 32
CONCURRENT_TOTAL = 3000


def _translation_rows() -> list[Row]:
    dial = next(ep for ep in endpoints() if ep["path"] == "/calls" and ep["method"] == "POST")
    route = routes.BY_METHOD["/voicesvc.v1.CallControl/DialCall"]
    request = wire.from_json(route.request_cls, sample(request_schema(dial)), strict=True)
    response_doc = {"data": sample(response_item_schema(dial)[0])}
    answer = routes.BY_METHOD["/voicesvc.v1.CallControl/AnswerCall"]
    answer_request = call_control_pb2.AnswerCallRequest(call_control_id="v3:abc")
    rows = []
    for label, fn in (
        ("encode DialCall request, every field set", lambda: http.encode_request(route, request)),
        ("decode DialCall response, every field set", lambda: http.decode_response(route, response_doc)),
        ("encode AnswerCall request, id only", lambda: http.encode_request(answer, answer_request)),
    ):
        n = 2000
        start = time.perf_counter()
        for _ in range(n):
            fn()
        rows.append((label, f"{(time.perf_counter() - start) / n * 1e6:.1f}", "µs/op"))
    return rows


def _start_sandbox() -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "voicesvc.sandbox.cli", "--port", "0", "--api-key", API_KEY],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    info = json.loads(process.stdout.readline())
    return process, str(info["base_url"])


async def _latencies(call: Callable[[], Awaitable[object]]) -> tuple[list[float], float]:
    """Sequential latencies (ms, sorted) and the rate with CONCURRENCY callers (per second)."""
    for _ in range(50):  # warm up connections and caches
        await call()
    latencies = []
    for _ in range(SEQUENTIAL):
        t0 = time.perf_counter()
        await call()
        latencies.append((time.perf_counter() - t0) * 1000)
    latencies.sort()
    sem = asyncio.Semaphore(CONCURRENCY)

    async def one() -> None:
        async with sem:
            await call()

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(CONCURRENT_TOTAL)))
    return latencies, CONCURRENT_TOTAL / (time.perf_counter() - t0)


def _rows(label: str, latencies: list[float], rate: float) -> list[Row]:
    return [
        (f"{label}, p50 (sequential)", f"{statistics.median(latencies):.2f}", "ms"),
        (f"{label}, p99 (sequential)", f"{latencies[int(len(latencies) * 0.99)]:.2f}", "ms"),
        (f"{label}, {CONCURRENCY} concurrent callers", f"{rate:.0f}", "calls/s"),
    ]


def _rss_mib(server: ServerProcess) -> float:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _unary_rows() -> list[Row]:
    sandbox, base_url = await asyncio.to_thread(_start_sandbox)
    server: ServerProcess | None = None
    try:
        # The default log level, as in production: one access line per RPC.
        env = {"TELNYX_API_KEY": API_KEY, "TELNYX_API_BASE_URL": base_url}
        server = await asyncio.to_thread(start_server, env)
        async with (
            grpc.aio.insecure_channel(server.target) as channel,
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"}) as session,
        ):
            stub = call_control_pb2_grpc.CallControlStub(channel)
            dial = call_control_pb2.DialCallRequest(connection_id="bench", to_string="+15552220000")
            setattr(dial, "from", "+15551110000")
            call = await stub.DialCall(dial)
            status = call_control_pb2.GetCallStatusRequest(call_control_id=call.call_control_id)

            async def direct() -> None:
                async with session.get(f"{base_url}/calls/{call.call_control_id}") as resp:
                    await resp.read()

            health = health_pb2_grpc.HealthStub(channel)
            floor = await _latencies(lambda: health.Check(health_pb2.HealthCheckRequest()))
            rest = await _latencies(direct)
            facade = await _latencies(lambda: stub.GetCallStatus(status))
            rss = _rss_mib(server)
    finally:
        if server is not None:
            await asyncio.to_thread(stop_server, server)
        await asyncio.to_thread(stop_process, sandbox)
    overhead = statistics.median(facade[0]) - statistics.median(rest[0])
    return [
        *_rows("grpc.health Check on voicesvc (gRPC round-trip floor)", *floor),
        *_rows("GET /calls/{id} straight to the sandbox (baseline)", *rest),
        *_rows("GetCallStatus through voicesvc to the sandbox", *facade),
        ("facade overhead per call, p50", f"{overhead:.2f}", "ms"),
        ("voicesvc serve RSS after the run", f"{rss:.0f}", "MiB"),
    ]


async def run() -> list[Row]:
    """The table rows of the translation and unary-call benchmarks."""
    return _translation_rows() + await _unary_rows()


if __name__ == "__main__":
    for row in asyncio.run(run()):
        print(" | ".join(row))
