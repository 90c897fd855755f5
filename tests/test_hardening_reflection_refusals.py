"""Finding 6: a reflection call (a bidirectional stream) with a wrong token always reaches the caller as
UNAUTHENTICATED — also while the caller is still writing its requests — and is counted as such."""

from __future__ import annotations

import asyncio
import collections

import grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from tests.support.stack import start_stack

TOKEN = "token-reflection-1"
WRONG = (("authorization", "Bearer wrong-token-1"),)
METHOD = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
CALLS = 200


def _list_services(count: int) -> list[reflection_pb2.ServerReflectionRequest]:
    return [reflection_pb2.ServerReflectionRequest(list_services="")] * count


async def _outcome(stub: reflection_pb2_grpc.ServerReflectionStub, requests: int) -> tuple[str, str]:
    try:
        async for _ in stub.ServerReflectionInfo(iter(_list_services(requests)), metadata=WRONG, timeout=10):
            pass
    except grpc.aio.AioRpcError as exc:
        return exc.code().name, exc.details() or ""
    return "OK", ""


def _count(metrics_text: str, code: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "voicesvc_rpc_requests_total" and sample.labels == {
                "method": METHOD,
                "code": code,
            }:
                return sample.value
    return 0.0


async def test_every_refused_reflection_call_reaches_the_caller_as_unauthenticated() -> None:
    async with start_stack(auth__tokens=(TOKEN,)) as stack:
        stub = reflection_pb2_grpc.ServerReflectionStub(stack.channel)
        # Callers still writing when the refusal comes (50 requests each), one after another and all at once.
        outcomes = collections.Counter([await _outcome(stub, 50) for _ in range(CALLS)])
        outcomes.update(await asyncio.gather(*(_outcome(stub, 50) for _ in range(CALLS))))
        outcomes.update(await asyncio.gather(*(_outcome(stub, 1) for _ in range(CALLS))))

        assert outcomes == {("UNAUTHENTICATED", "invalid bearer token"): 3 * CALLS}
        _, metrics = await stack.get("/metrics")
        assert _count(metrics, "UNAUTHENTICATED") == 3 * CALLS
        assert _count(metrics, "INTERNAL") == 0


async def test_a_refused_caller_that_keeps_its_stream_open_gets_unauthenticated() -> None:
    async with start_stack(auth__tokens=(TOKEN,)) as stack:
        stub = reflection_pb2_grpc.ServerReflectionStub(stack.channel)
        call = stub.ServerReflectionInfo(metadata=WRONG, timeout=10)
        # As an interactive tool does: one request, then wait for the answer before writing more.
        await call.write(_list_services(1)[0])
        assert await call.code() == grpc.StatusCode.UNAUTHENTICATED
        assert await call.details() == "invalid bearer token"
