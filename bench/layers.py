"""The command path layer by layer: what each of voicesvc's layers adds to the bare relay's cost.

`python -m bench.layers [--rounds N]` serves GetCallStatus against the instant upstream six ways, each in
its own process, and drives them interleaved at c=1 and c=64:

- the bare relay (a grpc.aio server whose handler makes the aiohttp GET and copies the JSON answer);
- the relay behind voicesvc's `RpcInterceptor` (request id and its echo, authentication check, decoding,
  access log, metrics), with the access log at info and with the log level at warning;
- voicesvc's `Translator` and `TelnyxClient` (validation, encoding, retries, deadline, decoding) without
  the interceptor;
- both together, as `voicesvc serve` runs them, at info and at warning.

It shows where the difference between the bare relay and voicesvc goes; it is not part of `make bench`.
`python -m bench.layers serve LAYERS UPSTREAM_URL` is one such server (LAYERS: `relay`, or `translator`,
each optionally followed by `+interceptor` and `+quiet`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

import grpc

from bench import processes
from bench.harness import CpuClock, Sample, Way, WayResult, drive, interleave
from bench.standalone import CALL_CONTROL_ID, relay_behavior
from tests.support.voicesvc_process import stop_process
from voicesvc.config import Settings
from voicesvc.rest import TelnyxClient
from voicesvc.server.interceptors import RpcInterceptor
from voicesvc.server.logging import configure_logging
from voicesvc.server.metrics import Metrics
from voicesvc.server.translate import Translator
from voicesvc.transcode.routes import BY_METHOD
from voicesvc.v1 import call_control_pb2, call_control_pb2_grpc

__all__ = ["LAYERS", "main"]

API_KEY = "KEY_bench_0123456789"
LAYERS = (
    "relay",
    "relay+interceptor",
    "relay+interceptor+quiet",
    "translator",
    "translator+interceptor",
    "translator+interceptor+quiet",
)
"""`quiet`: the log level at warning, so the access log writes nothing."""


async def _serve(layers: str, upstream_url: str, sink: TextIO) -> None:
    parts = set(layers.split("+"))
    level = logging.WARNING if "quiet" in parts else logging.INFO
    configure_logging(level, stream=sink, batched=True, cache_loggers=True)
    route = BY_METHOD["/voicesvc.v1.CallControl/GetCallStatus"]
    response_type = call_control_pb2.GetCallStatusResponse
    metrics = Metrics()
    settings = Settings()
    client = TelnyxClient(
        upstream_url,
        API_KEY,
        retry=settings.telnyx.retry,
        limits=settings.telnyx.limits,
        on_response=metrics.observe_upstream,
    )
    await client.start()

    relay = "translator" not in parts
    behavior = relay_behavior(upstream_url) if relay else Translator(client).behavior(route)
    handler = grpc.unary_unary_rpc_method_handler(
        behavior,
        request_deserializer=call_control_pb2.GetCallStatusRequest.FromString,
        response_serializer=response_type.SerializeToString,
    )
    interceptors = [RpcInterceptor(metrics)] if "interceptor" in parts else []
    server = grpc.aio.server(interceptors=interceptors, options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(route.service, {route.rpc: handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    sys.stdout.write(json.dumps({"port": port}) + "\n")
    sys.stdout.flush()
    await server.wait_for_termination()


def _way(layers: str, pid: int, port: int) -> Way:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stub = call_control_pb2_grpc.CallControlStub(channel)
    request = call_control_pb2.GetCallStatusRequest(call_control_id=CALL_CONTROL_ID)

    async def op(_: int) -> Any:
        return await stub.GetCallStatus(request)

    async def run(concurrency: int) -> Sample:
        return await drive(op, concurrency=concurrency, clock=CpuClock(pid), count=1500 * min(concurrency, 4))

    async def warm() -> Sample:
        return await drive(op, concurrency=8, clock=CpuClock(pid), count=500)

    return Way(layers, run, warm)


async def _measure(servers: list[tuple[str, int, int]], rounds: int) -> dict[str, WayResult]:
    return await interleave([_way(*server) for server in servers], (1, 64), rounds)


def _compare(rounds: int) -> str:
    with ExitStack() as stack:
        uvloop = processes.uvloop_available()
        upstream = stack.enter_context(processes.standalone("upstream", use_uvloop=uvloop))
        base = f"http://127.0.0.1:{upstream.port}/v2"
        servers = []
        for layers in LAYERS:
            child = subprocess.Popen(
                [sys.executable, "-m", "bench.layers", "serve", layers, base],
                cwd=processes.ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
            )
            stack.callback(stop_process, child)
            assert child.stdout is not None
            servers.append((layers, child.pid, int(json.loads(child.stdout.readline())["port"])))
        results = asyncio.run(_measure(servers, rounds))
    relay = results["relay"].by_concurrency
    lines = [
        "GetCallStatus, layer by layer (server CPU per call from /proc; each way in its own process)",
        f"{'layers':30} {'c=1 p50':>9} {'c=1 CPU':>9} {'c=64 CPU':>9} {'vs relay':>9} {'c=64 calls/s':>13}",
    ]
    for name, result in results.items():
        one, many = result.by_concurrency[1], result.by_concurrency[64]
        added = many.cpu_per_op_ms - relay[64].cpu_per_op_ms
        lines.append(
            f"{name:30} {one.p(0.5):8.3f}  {one.cpu_per_op_ms:8.3f}  {many.cpu_per_op_ms:8.3f}  "
            f"{added:+8.3f}  {many.rate:12,.0f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Compare the layers, or serve one combination of them (`serve`)."""
    parser = argparse.ArgumentParser(prog="python -m bench.layers")
    parser.add_argument("--rounds", type=int, default=4)
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve")
    serve.add_argument("layers", choices=LAYERS)
    serve.add_argument("upstream_url")
    args = parser.parse_args(argv)
    if args.command == "serve":
        runner = asyncio.run
        if processes.uvloop_available():
            import uvloop  # as `voicesvc serve` runs where uvloop is installed

            runner = uvloop.run
        with Path(os.devnull).open("w") as sink:
            runner(_serve(args.layers, args.upstream_url, sink))
        return
    print(_compare(args.rounds))


if __name__ == "__main__":
    main()
