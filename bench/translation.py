"""The cost of translating between the contract and Telnyx JSON, in this process (no I/O)."""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.report import Section
from tests.support.reference import endpoints, request_schema, response_item_schema, sample
from voicesvc.transcode import http, routes, wire
from voicesvc.v1 import call_control_pb2

__all__ = ["case"]

REPEATS = 2000


def _per_op_us(fn: Callable[[], object]) -> float:
    fn()
    started = time.perf_counter()
    for _ in range(REPEATS):
        fn()
    return (time.perf_counter() - started) / REPEATS * 1e6


async def case(rounds: int) -> list[Section]:
    """Encode/decode of a DialCall with every field set, and of an id-only command."""
    dial = next(ep for ep in endpoints() if ep["path"] == "/calls" and ep["method"] == "POST")
    route = routes.BY_METHOD["/voicesvc.v1.CallControl/DialCall"]
    request = wire.from_json(route.request_cls, sample(request_schema(dial)), strict=True)
    response_doc = {"data": sample(response_item_schema(dial)[0])}
    answer = routes.BY_METHOD["/voicesvc.v1.CallControl/AnswerCall"]
    answer_request = call_control_pb2.AnswerCallRequest(call_control_id="v3:abc")
    status = routes.BY_METHOD["/voicesvc.v1.CallControl/GetCallStatus"]
    status_request = call_control_pb2.GetCallStatusRequest(call_control_id="v3:abc")
    cases: list[tuple[str, Callable[[], object]]] = [
        ("encode DialCall request, every field set", lambda: http.encode_request(route, request)),
        ("decode DialCall response, every field set", lambda: http.decode_response(route, response_doc)),
        ("encode AnswerCall request, id only", lambda: http.encode_request(answer, answer_request)),
        ("encode GetCallStatus request", lambda: http.encode_request(status, status_request)),
    ]
    rows = [[label, f"{_per_op_us(fn):.1f} µs"] for label, fn in cases]
    return [Section("Translation (RPC ⇄ REST JSON), per operation", ["operation", "time"], rows)]
