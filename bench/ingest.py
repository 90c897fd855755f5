"""Webhook ingest: signed webhooks POSTed by 32 concurrent senders, three ways, interleaved.

* a bare aiohttp endpoint that reads the body and answers 200 (what any receiver costs);
* a bare verifying endpoint: the same plus the Ed25519 check, a JSON parse and an append to a list, or a
  JetStream publish awaiting its ack (the least any verifying receiver does, with each store);
* voicesvc with the memory event log (verify, parse, store, answer);
* voicesvc with the NATS JetStream event log (nats-server's own CPU is not counted).

Every webhook carries its own event id (no de-duplication shortcut) and is signed before the clock starts;
CPU per accepted webhook is the server process's. PyNaCl's own verification rate is measured beside them.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import aiohttp
from nacl.signing import SigningKey

from bench import processes
from bench.harness import CpuClock, Sample, Way, WayResult, drive, interleave
from bench.report import CHART_QUANTILES, Section, Target
from voicesvc.webhooks import Signer

__all__ = [
    "BARE",
    "MEMORY",
    "NATS",
    "VERIFIER",
    "VERIFIER_NATS",
    "IngestResult",
    "case",
    "measure",
    "section",
    "verify_ms",
    "webhook_body",
]

BARE = "bare aiohttp endpoint"
VERIFIER = "bare verifying endpoint, in memory"
VERIFIER_NATS = "bare verifying endpoint, JetStream publish"
MEMORY = "voicesvc, memory log"
NATS = "voicesvc, NATS log"
CONCURRENCY = 32
POSTS_PER_RUN = 4000
WEBHOOK_PATH = "/webhooks/telnyx"
# Commands are never sent here: the upstream only has to be a well-formed URL.
_UNUSED_UPSTREAM = "http://127.0.0.1:9/v2"


@dataclass
class IngestResult:
    """Pooled samples per way, and one Ed25519 verification's cost."""

    ways: dict[str, WayResult]
    verify_ms: float


def webhook_body(event_type: str = "call.answered", call_control_id: str = "v3:bench") -> bytes:
    """A Telnyx-shaped webhook body with a fresh event id."""
    body = {
        "data": {
            "id": str(uuid.uuid4()),
            "event_type": event_type,
            "occurred_at": "2024-01-01T00:00:00.000000Z",
            "payload": {
                "call_control_id": call_control_id,
                "call_leg_id": "428c31b6-7af4-4bcb-b7f5-5013ef9657c1",
                "call_session_id": "428c31b6-7af4-4bcb-b7f5-5013ef9657c1",
                "client_state": "aGF2ZSBhIG5pY2UgZGF5ID1d",
                "connection_id": "7267xxxxxxxxxxxxxx",
                "from": "+35319605860",
                "start_time": "2024-01-01T00:00:00.000000Z",
                "state": "answered",
                "to": "+13129457420",
            },
            "record_type": "event",
        },
        "meta": {"attempt": 1, "delivered_to": "https://example.com/webhooks"},
    }
    return json.dumps(body).encode()


def verify_ms(count: int = 4000) -> float:
    """Milliseconds one PyNaCl Ed25519 verification of a webhook-sized message takes here."""
    key = SigningKey.generate()
    message = b"1700000000|" + webhook_body()
    signed = key.sign(message)
    verify = key.verify_key.verify
    started = time.perf_counter()
    for _ in range(count):
        verify(signed)
    return (time.perf_counter() - started) / count * 1000


def _way(name: str, url: str, clock: CpuClock, signer: Signer, http: aiohttp.ClientSession) -> Way:
    async def post(raw: bytes, headers: dict[str, str]) -> None:
        async with http.post(url, data=raw, headers=headers) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"{name}: webhook refused with HTTP {response.status}")

    def op_for(count: int) -> Callable[[int], Awaitable[None]]:
        now = int(time.time())
        signed = [(raw, signer.sign_telnyx(raw, now)) for raw in (webhook_body() for _ in range(count))]

        async def op(index: int) -> None:
            await post(*signed[index])

        return op

    async def run(concurrency: int) -> Sample:
        op = op_for(POSTS_PER_RUN)
        return await drive(op, concurrency=concurrency, clock=clock, count=POSTS_PER_RUN)

    async def warm() -> None:
        await drive(op_for(300), concurrency=CONCURRENCY, clock=clock, count=300)

    return Way(name, run, warm)


async def measure(rounds: int) -> IngestResult:
    """Run the ingest comparison for `rounds` interleaved rounds."""
    signer = Signer.generate()
    service_env = {
        "TELNYX_API_KEY": "KEY_bench_0123456789",
        "TELNYX_API_BASE_URL": _UNUSED_UPSTREAM,
        "TELNYX_PUBLIC_KEY": signer.public_key_b64,
    }
    async with AsyncExitStack() as stack:
        memory = stack.enter_context(processes.voicesvc({**service_env, "VOICESVC_EVENTS_BACKEND": "memory"}))
        # The bare endpoint runs on the loop voicesvc runs on.
        uvloop = processes.server_loop(memory) == "uvloop"
        bare = stack.enter_context(processes.standalone("webhook", use_uvloop=uvloop))
        verifier = stack.enter_context(
            processes.standalone("verifier", signer.public_key_b64, use_uvloop=uvloop)
        )
        nats = stack.enter_context(processes.nats_server())
        verifier_nats = stack.enter_context(
            processes.standalone("verifier", signer.public_key_b64, nats.url, use_uvloop=uvloop)
        )
        on_nats = stack.enter_context(
            processes.voicesvc({**service_env, "VOICESVC_EVENTS_BACKEND": nats.url})
        )
        http = await stack.enter_async_context(
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY))
        )
        ways = [
            _way(BARE, f"http://127.0.0.1:{bare.port}{WEBHOOK_PATH}", CpuClock(bare.pid), signer, http),
            _way(
                VERIFIER,
                f"http://127.0.0.1:{verifier.port}{WEBHOOK_PATH}",
                CpuClock(verifier.pid),
                signer,
                http,
            ),
            _way(
                VERIFIER_NATS,
                f"http://127.0.0.1:{verifier_nats.port}{WEBHOOK_PATH}",
                CpuClock(verifier_nats.pid),
                signer,
                http,
            ),
            _way(MEMORY, memory.http_url + WEBHOOK_PATH, CpuClock(memory.process.pid), signer, http),
            _way(NATS, on_nats.http_url + WEBHOOK_PATH, CpuClock(on_nats.process.pid), signer, http),
        ]
        results = await interleave(ways, (CONCURRENCY,), rounds)
    return IngestResult(results, verify_ms())


def section(result: IngestResult) -> Section:
    """The ingest table and its targets."""
    ways = {name: way.by_concurrency[CONCURRENCY] for name, way in result.ways.items()}
    bare = ways[BARE]
    rows = [
        [
            name,
            f"{sample.rate:,.0f}",
            f"{sample.rate / bare.rate:.2f}x",
            f"{sample.cpu_per_op_ms:.3f} ms",
            f"{sample.p(0.5):.2f} ms",
            f"{sample.p(0.99):.2f} ms",
        ]
        for name, sample in ways.items()
    ]
    rows.append(
        [
            "PyNaCl Ed25519 verify, one core",
            f"{1000 / result.verify_ms:,.0f}",
            "",
            f"{result.verify_ms:.3f} ms",
            "",
            "",
        ]
    )
    limit = bare.cpu_per_op_ms + result.verify_ms + 0.04
    how = f"bare {bare.cpu_per_op_ms:.3f} + verify {result.verify_ms:.3f} + 0.04"
    verifier, verifier_nats = ways[VERIFIER], ways[VERIFIER_NATS]
    targets = [
        Target(
            "ingest: server CPU per webhook, memory log",
            ways[MEMORY].cpu_per_op_ms,
            limit,
            "ms",
            how=how,
            floor=verifier.cpu_per_op_ms,
            floor_of="bare verifying endpoint",
        ),
        Target(
            "ingest: server CPU per webhook, NATS log",
            ways[NATS].cpu_per_op_ms,
            limit,
            "ms",
            how=how,
            floor=verifier_nats.cpu_per_op_ms,
            floor_of="bare verifying endpoint + JetStream publish",
        ),
        Target(
            "ingest: throughput, memory log",
            ways[MEMORY].rate / bare.rate,
            0.55,
            "x",
            at_most=False,
            how="x the bare endpoint",
            floor=verifier.rate / bare.rate,
            floor_of="bare verifying endpoint",
        ),
        Target(
            "ingest: throughput, NATS log",
            ways[NATS].rate / bare.rate,
            0.4,
            "x",
            at_most=False,
            how="x the bare endpoint",
            floor=verifier_nats.rate / bare.rate,
            floor_of="bare verifying endpoint + JetStream publish",
        ),
    ]
    charts = {
        f"webhook ingest latency, {CONCURRENCY} concurrent senders": {
            name: [sample.p(q) for q in CHART_QUANTILES] for name, sample in ways.items()
        }
    }
    columns = ["way", "webhooks/s", "x bare", "server CPU/webhook", "p50", "p99"]
    notes = ["Each webhook has its own event id and a valid signature; nats-server's own CPU is not counted."]
    return Section(f"Webhook ingest: {CONCURRENCY} concurrent senders", columns, rows, targets, notes, charts)


async def case(rounds: int) -> list[Section]:
    """The registered case: measure, then tabulate."""
    return [section(await measure(rounds))]
