"""Where `voicesvc serve` spends its time under load: py-spy samples of the server process.

`python -m bench.profile command` drives GetCallStatus at c=64 against the instant upstream;
`python -m bench.profile ingest` posts signed webhooks from 32 senders (memory log; `--nats`: the log on a
local nats-server). py-spy samples the
server (without pausing it) meanwhile; the report lists the functions with the largest share of the
samples, inclusive (the function and what it calls) and exclusive (its own code), and the share of
samples in a few named parts of the path. `--raw FILE` keeps the collapsed stacks (for flame graphs).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import grpc

from bench import processes
from bench.harness import CpuClock, drive
from bench.ingest import webhook_body
from bench.standalone import CALL_CONTROL_ID
from voicesvc.v1 import call_control_pb2, call_control_pb2_grpc
from voicesvc.webhooks import Signer

__all__ = ["PARTS", "main", "summarise"]

API_KEY = "KEY_bench_0123456789"
PARTS: dict[str, tuple[str, ...]] = {
    "REST client (voicesvc.rest: request, pool, response, JSON)": ("(rest/", "aiohttp/client"),
    "access log (structlog)": ("(server/logging.py", "structlog/"),
    "metrics (prometheus_client)": ("(server/metrics.py", "prometheus_client/"),
    "translation (encode/decode)": ("(transcode/",),
    "interceptors": ("(server/interceptors.py",),
    "grpc.aio (Cython server, send/receive)": ("grpc/_cython", "grpc/aio"),
    "webhook verify (PyNaCl)": ("(webhooks/verify.py", "nacl/"),
    "webhook ingress": ("(webhooks/ingress.py",),
    "event log append": ("(events/",),
    "calls projection": ("(calls/",),
    "NATS client (nats-py)": ("nats/aio/", "nats/js/", "nats/protocol/"),
    "HTTP port's server (server/httpd.py, httpwire.py)": ("(server/httpd.py", "(voicesvc/httpwire.py"),
    "aiohttp (web server, HTTP parsing)": ("aiohttp/web", "aiohttp/http"),
    "asyncio event loop": ("asyncio/",),
}
"""Named parts of the path: a sample counts for a part when any frame contains one of the strings (py-spy
names a file by its last two path parts: `(webhooks/ingress.py:140)`)."""


def summarise(collapsed: str, top: int = 25) -> str:
    """A text report of py-spy's collapsed stacks: totals per part and per function."""
    inclusive: Counter[str] = Counter()
    exclusive: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [frame for frame in stack.split(";") if frame]
        total += count
        for frame in set(frames[1:]):  # the first frame names the process or thread
            inclusive[frame] += count
        exclusive[frames[-1]] += count
        for part, markers in PARTS.items():
            if any(marker in frame for frame in frames for marker in markers):
                parts[part] += count
    if not total:
        return "no samples"
    lines = [f"{total} samples", "", "share of samples in named parts (a sample may count for several):"]
    lines += [f"  {parts[part] / total:6.1%}  {part}" for part in PARTS]
    lines += ["", f"top {top} functions, inclusive:"]
    lines += [f"  {n / total:6.1%}  {frame}" for frame, n in inclusive.most_common(top)]
    lines += ["", f"top {top} functions, exclusive:"]
    lines += [f"  {n / total:6.1%}  {frame}" for frame, n in exclusive.most_common(top)]
    return "\n".join(lines)


async def _load_command(seconds: float, stack: AsyncExitStack) -> tuple[int, Callable[[], Awaitable[Any]]]:
    upstream = stack.enter_context(processes.standalone("upstream", use_uvloop=processes.uvloop_available()))
    env = {"TELNYX_API_KEY": API_KEY, "TELNYX_API_BASE_URL": f"http://127.0.0.1:{upstream.port}/v2"}
    server = stack.enter_context(processes.voicesvc(env))
    channel = await stack.enter_async_context(grpc.aio.insecure_channel(server.target))
    stub = call_control_pb2_grpc.CallControlStub(channel)
    request = call_control_pb2.GetCallStatusRequest(call_control_id=CALL_CONTROL_ID)

    async def op(_: int) -> Any:
        return await stub.GetCallStatus(request)

    clock = CpuClock(server.process.pid)
    await drive(op, concurrency=8, clock=clock, count=300)
    return server.process.pid, lambda: drive(op, concurrency=64, clock=clock, duration_s=seconds)


async def _load_ingest(
    seconds: float, stack: AsyncExitStack, *, on_nats: bool
) -> tuple[int, Callable[[], Awaitable[Any]]]:
    signer = Signer.generate()
    env = {
        "TELNYX_API_KEY": API_KEY,
        "TELNYX_API_BASE_URL": "http://127.0.0.1:9/v2",
        "TELNYX_PUBLIC_KEY": signer.public_key_b64,
    }
    if on_nats:
        env["VOICESVC_EVENTS_BACKEND"] = stack.enter_context(processes.nats_server()).url
    server = stack.enter_context(processes.voicesvc(env))
    http = await stack.enter_async_context(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32)))
    url = server.http_url + "/webhooks/telnyx"
    count = int(seconds * 8000)
    signed = [(raw, signer.sign_telnyx(raw)) for raw in (webhook_body() for _ in range(count))]

    async def op(index: int) -> None:
        raw, headers = signed[index]
        async with http.post(url, data=raw, headers=headers) as response:
            await response.read()

    clock = CpuClock(server.process.pid)
    return server.process.pid, lambda: drive(op, concurrency=32, clock=clock, duration_s=seconds, count=count)


async def _profile(kind: str, seconds: float, raw_path: Path | None, native: bool, on_nats: bool) -> str:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    async with AsyncExitStack() as stack:
        if kind == "command":
            pid, run = await _load_command(seconds, stack)
        else:
            pid, run = await _load_ingest(seconds, stack, on_nats=on_nats)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "stacks.txt"
            sampler = await asyncio.create_subprocess_exec(
                *[
                    py_spy,
                    "record",
                    *([] if native else ["--nonblocking"]),
                    "--format",
                    "raw",
                    "--rate",
                    "200",
                    "--pid",
                    str(pid),
                ],
                *["--duration", str(int(seconds)), "--output", str(out)],
                *(["--native"] if native else []),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            sample = await run()
            await sampler.wait()
            collapsed = await asyncio.to_thread(lambda: out.read_text() if out.exists() else "")
    if raw_path is not None:
        await asyncio.to_thread(raw_path.write_text, collapsed)
    head = (
        f"{kind}: {sample.done} operations in {sample.wall_s:.1f} s ({sample.rate:,.0f}/s), "
        f"server CPU {sample.cpu_per_op_ms:.3f} ms per operation"
    )
    return head + "\n" + summarise(collapsed)


def main() -> None:
    """Profile the server under one load and print the summary."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("kind", choices=("command", "ingest"))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--raw", type=Path, help="also write py-spy's collapsed stacks here")
    parser.add_argument("--native", action="store_true", help="sample C frames too (gRPC core, uvloop)")
    parser.add_argument("--nats", action="store_true", help="ingest: the event log on a local nats-server")
    args = parser.parse_args()
    print(asyncio.run(_profile(args.kind, args.seconds, args.raw, args.native, args.nats)))


if __name__ == "__main__":
    main()
