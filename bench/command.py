"""The command path: GetCallStatus five ways against one minimal upstream that answers instantly.

* raw aiohttp client → upstream (CPU of this load generator: the client's own cost);
* the official `telnyx` SDK (AsyncTelnyx, defaults) → upstream (CPU of this load generator);
* a bare grpc.aio server answering GetCallStatus from a canned message (CPU of that server: the floor);
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
from bench.standalone import CALL_CONTROL_ID
from voicesvc.v1 import call_control_pb2, call_control_pb2_grpc

__all__ = ["RAW", "SDK", "ECHO", "HEALTH", "VOICESVC", "CommandResult", "measure"]

RAW = "raw aiohttp client"
SDK = "official telnyx SDK (AsyncTelnyx)"
ECHO = "bare grpc.aio server (floor)"
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


def _way(
    name: str, op: Callable[[int], Awaitable[object]], clock: CpuClock, warm_calls: int = 200
) -> Way:
    async def run(concurrency: int) -> Sample:
        return await drive(op, concurrency=concurrency, clock=clock, duration_s=DURATION_S[concurrency])

    async def warm() -> None:
        await drive(op, concurrency=8, clock=clock, count=warm_calls)

    return Way(name, run, warm)


async def measure(rounds: int) -> CommandResult:
    """Run the command-path comparison for `rounds` interleaved rounds."""
    from telnyx import AsyncTelnyx  # noqa: PLC0415 - a bench-only dependency, imported where it is used

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

        session = await stack.enter_async_context(
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"})
        )
        sdk = await stack.enter_async_context(AsyncTelnyx(api_key=API_KEY, base_url=base_url))
        voicesvc_channel = await stack.enter_async_context(grpc.aio.insecure_channel(server.target))
        echo_channel = await stack.enter_async_context(grpc.aio.insecure_channel(f"127.0.0.1:{echo.port}"))

        status_url = f"{base_url}/calls/{CALL_CONTROL_ID}"
        request = call_control_pb2.GetCallStatusRequest(call_control_id=CALL_CONTROL_ID)
        facade = call_control_pb2_grpc.CallControlStub(voicesvc_channel)
        floor = call_control_pb2_grpc.CallControlStub(echo_channel)
        health = health_pb2_grpc.HealthStub(voicesvc_channel)
        health_request = health_pb2.HealthCheckRequest()

        async def raw(_: int) -> Any:
            async with session.get(status_url) as response:
                response.raise_for_status()
                return await response.json()

        async def telnyx_sdk(_: int) -> Any:
            return await sdk.calls.retrieve_status(CALL_CONTROL_ID)

        async def echo_call(_: int) -> Any:
            return await floor.GetCallStatus(request)

        async def health_call(_: int) -> Any:
            return await health.Check(health_request)

        async def voicesvc_call(_: int) -> Any:
            return await facade.GetCallStatus(request)

        own = CpuClock.self()
        server_clock = CpuClock(server.process.pid)
        ways = [
            _way(RAW, raw, own),
            _way(SDK, telnyx_sdk, own),
            _way(ECHO, echo_call, CpuClock(echo.pid)),
            _way(HEALTH, health_call, server_clock),
            _way(VOICESVC, voicesvc_call, server_clock),
        ]
        results = await interleave(ways, CONCURRENCIES, rounds)
        return CommandResult(results, loop)
