"""Cost of the RPC ⇄ REST translation and of unary RPCs through a real server to the sandbox."""

from __future__ import annotations

import asyncio
import logging
import resource
import statistics
import time

import grpc

from tests.support.reference import endpoints, request_schema, response_item_schema, sample
from voicesvc.config import Settings
from voicesvc.server.app import VoiceService
from voicesvc.server.logging import configure_logging
from voicesvc.transcode import http, routes, wire
from voicesvc.v1 import call_control_pb2, call_control_pb2_grpc

Row = tuple[str, str, str]


def _translation_rows() -> list[Row]:
    dial = next(ep for ep in endpoints() if ep["path"] == "/calls" and ep["method"] == "POST")
    route = routes.BY_METHOD["/voicesvc.v1.CallControl/DialCall"]
    request = wire.from_json(route.request_cls, sample(request_schema(dial)), strict=True)
    response_doc = {"data": sample(response_item_schema(dial)[0])}
    rows = []
    for label, fn in (
        ("encode DialCall request, every field set", lambda: http.encode_request(route, request)),
        ("decode DialCall response", lambda: http.decode_response(route, response_doc)),
        ("encode AnswerCall request, id only", lambda: http.encode_request(
            routes.BY_METHOD["/voicesvc.v1.CallControl/AnswerCall"],
            call_control_pb2.AnswerCallRequest(call_control_id="v3:abc"))),
    ):
        n = 2000
        start = time.perf_counter()
        for _ in range(n):
            fn()
        rows.append((label, f"{(time.perf_counter() - start) / n * 1e6:.1f}", "µs/op"))
    return rows


async def _unary_rows() -> list[Row]:
    configure_logging(logging.WARNING)  # as in production: JSON lines, no per-request debug output
    settings = Settings(grpc_listen="127.0.0.1:0", http_listen="127.0.0.1:0", log_level="error")
    service = VoiceService(settings)
    await service.start()
    try:
        async with grpc.aio.insecure_channel(service.grpc_target) as channel:
            stub = call_control_pb2_grpc.CallControlStub(channel)
            dial = call_control_pb2.DialCallRequest(connection_id="bench", to_string="+15552220000")
            setattr(dial, "from", "+15551110000")
            call = await stub.DialCall(dial)
            status = call_control_pb2.GetCallStatusRequest(call_control_id=call.call_control_id)
            for _ in range(50):  # warm up
                await stub.GetCallStatus(status)
            latencies = []
            for _ in range(500):
                t0 = time.perf_counter()
                await stub.GetCallStatus(status)
                latencies.append((time.perf_counter() - t0) * 1000)
            latencies.sort()
            concurrency, total = 32, 3000
            sem = asyncio.Semaphore(concurrency)

            async def one() -> None:
                async with sem:
                    await stub.GetCallStatus(status)

            t0 = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(total)))
            rate = total / (time.perf_counter() - t0)
    finally:
        await service.stop(0)
    p99 = latencies[int(len(latencies) * 0.99)]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [
        ("GetCallStatus via gRPC → sandbox, p50 (sequential)", f"{statistics.median(latencies):.2f}", "ms"),
        ("GetCallStatus via gRPC → sandbox, p99 (sequential)", f"{p99:.2f}", "ms"),
        (f"GetCallStatus throughput, {concurrency} concurrent callers", f"{rate:.0f}", "RPC/s"),
        ("peak RSS of the benchmark process (server + sandbox + client)", f"{rss_mb:.0f}", "MiB"),
    ]


async def run() -> list[Row]:
    return _translation_rows() + await _unary_rows()
