"""The command path: GetCallStatus seven ways against one minimal upstream that answers instantly.

* raw aiohttp client → upstream (CPU of this load generator: the client's own cost);
* voicesvc's REST client (`TelnyxClient`, with its retries and deadline) → upstream (CPU of this load
  generator: what voicesvc's REST call costs without gRPC around it);
* the official `telnyx` SDK (AsyncTelnyx, defaults) → upstream (CPU of this load generator);
* a bare grpc.aio server answering GetCallStatus from a canned message (CPU of that server: the floor);
* a bare grpc.aio relay making the same REST call in its handler, no interceptor or logging (CPU of that
  server: the least any gRPC → REST facade on grpc.aio and aiohttp costs);
* voicesvc Health.Check (CPU of `voicesvc serve`);
* voicesvc GetCallStatus → upstream (CPU of `voicesvc serve`).

The upstream, the bare server and voicesvc run as separate processes; the ways are interleaved (ABAB).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import aiohttp
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench import processes
from bench.harness import CpuClock, Sample, Way, WayResult, drive, interleave
from bench.report import CHART_QUANTILES, Section, Target
from bench.standalone import CALL_CONTROL_ID
from voicesvc.rest import RestRequest, RetryMode, RetryPolicy, TelnyxClient
from voicesvc.v1 import call_control_pb2, call_control_pb2_grpc

__all__ = [
    "ECHO",
    "HEALTH",
    "RAW",
    "RELAY",
    "REST_CLIENT",
    "SDK",
    "VOICESVC",
    "CommandResult",
    "case",
    "measure",
    "section",
]

RAW = "raw aiohttp client"
REST_CLIENT = "voicesvc REST client (in process)"
SDK = "official telnyx SDK (AsyncTelnyx)"
ECHO = "bare grpc.aio server (floor)"
RELAY = "bare grpc.aio → aiohttp relay"
HEALTH = "voicesvc Health.Check"
VOICESVC = "voicesvc GetCallStatus"
API_KEY = "KEY_bench_0123456789"
CONCURRENCIES = (1, 64)
DURATION_S = {1: 0.6, 64: 1.5}


@dataclass
class CommandResult:
    """Pooled samples per way, and what the run used."""

    ways: dict[str, WayResult]
    server_loop: str


def _way(name: str, op: Callable[[int], Awaitable[object]], clock: CpuClock, warm_calls: int = 200) -> Way:
    async def run(concurrency: int) -> Sample:
        return await drive(op, concurrency=concurrency, clock=clock, duration_s=DURATION_S[concurrency])

    async def warm() -> None:
        await drive(op, concurrency=8, clock=clock, count=warm_calls)

    return Way(name, run, warm)


async def measure(rounds: int) -> CommandResult:
    """Run the command-path comparison for `rounds` interleaved rounds."""
    from telnyx import AsyncTelnyx  # a bench-only dependency, imported where it is used

    async with AsyncExitStack() as stack:
        upstream = stack.enter_context(
            processes.standalone("upstream", use_uvloop=processes.uvloop_available())
        )
        base_url = f"http://127.0.0.1:{upstream.port}/v2"
        server = stack.enter_context(
            processes.voicesvc({"TELNYX_API_KEY": API_KEY, "TELNYX_API_BASE_URL": base_url})
        )
        loop = processes.server_loop(server)
        echo = stack.enter_context(processes.standalone("echo", use_uvloop=loop == "uvloop"))
        relay = stack.enter_context(processes.standalone("relay", base_url, use_uvloop=loop == "uvloop"))

        session = await stack.enter_async_context(
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"})
        )
        sdk = await stack.enter_async_context(AsyncTelnyx(api_key=API_KEY, base_url=base_url))
        rest_client = await stack.enter_async_context(TelnyxClient(base_url, API_KEY, retry=RetryPolicy()))
        voicesvc_channel = await stack.enter_async_context(grpc.aio.insecure_channel(server.target))
        echo_channel = await stack.enter_async_context(grpc.aio.insecure_channel(f"127.0.0.1:{echo.port}"))
        relay_channel = await stack.enter_async_context(grpc.aio.insecure_channel(f"127.0.0.1:{relay.port}"))

        status_url = f"{base_url}/calls/{CALL_CONTROL_ID}"
        request = call_control_pb2.GetCallStatusRequest(call_control_id=CALL_CONTROL_ID)
        facade = call_control_pb2_grpc.CallControlStub(voicesvc_channel)
        floor = call_control_pb2_grpc.CallControlStub(echo_channel)
        relayed = call_control_pb2_grpc.CallControlStub(relay_channel)
        health = health_pb2_grpc.HealthStub(voicesvc_channel)
        health_request = health_pb2.HealthCheckRequest()

        async def raw(_: int) -> Any:
            async with session.get(status_url) as response:
                response.raise_for_status()
                return await response.json()

        status_request = RestRequest("GET", f"/calls/{CALL_CONTROL_ID}", retry_mode=RetryMode.IDEMPOTENT)

        async def rest_client_call(_: int) -> Any:
            return (await rest_client.request(status_request)).json

        async def telnyx_sdk(_: int) -> Any:
            return await sdk.calls.retrieve_status(CALL_CONTROL_ID)

        async def echo_call(_: int) -> Any:
            return await floor.GetCallStatus(request)

        async def relay_call(_: int) -> Any:
            return await relayed.GetCallStatus(request)

        async def health_call(_: int) -> Any:
            return await health.Check(health_request)

        async def voicesvc_call(_: int) -> Any:
            return await facade.GetCallStatus(request)

        own = CpuClock.self()
        server_clock = CpuClock(server.process.pid)
        ways = [
            _way(RAW, raw, own),
            _way(REST_CLIENT, rest_client_call, own),
            _way(SDK, telnyx_sdk, own),
            _way(ECHO, echo_call, CpuClock(echo.pid)),
            _way(RELAY, relay_call, CpuClock(relay.pid)),
            _way(HEALTH, health_call, server_clock),
            _way(VOICESVC, voicesvc_call, server_clock),
        ]
        results = await interleave(ways, CONCURRENCIES, rounds)
        return CommandResult(results, loop)


def section(result: CommandResult) -> Section:
    """The command-path table, its three targets and its latency charts."""
    ways = result.ways
    charged = {
        RAW: "this client",
        REST_CLIENT: "this client",
        SDK: "this client",
        ECHO: "bare server",
        RELAY: "bare relay",
        HEALTH: "voicesvc",
        VOICESVC: "voicesvc",
    }
    rows = []
    for name, way in ways.items():
        one, many = way.by_concurrency[1], way.by_concurrency[64]
        rows.append(
            [
                name,
                f"{one.p(0.5):.2f} ms",
                f"{one.p(0.99):.2f} ms",
                f"{many.p(0.5):.1f} ms",
                f"{many.p(0.99):.1f} ms",
                f"{many.rate:,.0f}",
                f"{one.cpu_per_op_ms:.3f} ms",
                f"{many.cpu_per_op_ms:.3f} ms",
                charged[name],
            ]
        )

    def at(name: str, concurrency: int) -> Sample:
        return ways[name].by_concurrency[concurrency]

    floor_cpu = at(ECHO, 64).cpu_per_op_ms + at(RAW, 64).cpu_per_op_ms
    floor_p50 = at(ECHO, 1).p(0.5) + at(RAW, 1).p(0.5)
    targets = [
        Target(
            "command path: voicesvc CPU per call, c=64",
            at(VOICESVC, 64).cpu_per_op_ms,
            floor_cpu + 0.1,
            "ms",
            how=f"floor {at(ECHO, 64).cpu_per_op_ms:.3f} + raw client {at(RAW, 64).cpu_per_op_ms:.3f} + 0.1",
            floor=at(RELAY, 64).cpu_per_op_ms,
            floor_of="bare relay",
        ),
        Target(
            "command path: voicesvc calls/s, c=64",
            at(VOICESVC, 64).rate,
            3.5 * at(SDK, 64).rate,
            "calls/s",
            at_most=False,
            how=f"3.5 x SDK {at(SDK, 64).rate:,.0f}",
            floor=at(RELAY, 64).rate,
            floor_of="bare relay",
        ),
        Target(
            "command path: voicesvc p50, c=1",
            at(VOICESVC, 1).p(0.5),
            floor_p50 + 0.2,
            "ms",
            how=f"floor {at(ECHO, 1).p(0.5):.2f} + raw client {at(RAW, 1).p(0.5):.2f} + 0.2",
            floor=at(RELAY, 1).p(0.5),
            floor_of="bare relay",
        ),
    ]
    charts = {
        f"GetCallStatus latency, c={c}": {
            name: [way.by_concurrency[c].p(q) for q in CHART_QUANTILES] for name, way in ways.items()
        }
        for c in CONCURRENCIES
    }
    notes = [
        (
            f"voicesvc on {result.server_loop}; the bare servers on the same loop. CPU per call is the "
            "charged process's user+system time from /proc over the runs, divided by the calls completed. "
            "The bare relay is a grpc.aio server without interceptors whose GetCallStatus makes the same "
            "aiohttp request and copies the JSON into the response: no validation, retries, deadline, "
            "request id, access log or metrics. voicesvc's REST client is `TelnyxClient` (its own "
            "HTTP/1.1 keep-alive pool, retries and deadline) driven from this load generator: what "
            "voicesvc's REST call costs without gRPC around it."
        ),
    ]
    columns = [
        "way",
        "c=1 p50",
        "c=1 p99",
        "c=64 p50",
        "c=64 p99",
        "c=64 calls/s",
        "CPU/call c=1",
        "CPU/call c=64",
        "CPU of",
    ]
    return Section(
        "Command path: GetCallStatus against an instant upstream", columns, rows, targets, notes, charts
    )


async def case(rounds: int) -> list[Section]:
    """The registered case: measure, then tabulate."""
    return [section(await measure(rounds))]
