"""Operating the service: health, reflection, graceful shutdown, metrics, logs without secrets, caller
authentication, TLS, and the embedded sandbox mode."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from tests.support.logs import captured_logs
from tests.support.metrics import sample_value
from tests.support.nats import NatsServer
from tests.support.rpc_requests import unary
from tests.support.stack import API_KEY, FAST_SANDBOX, FAST_SERVICE, Stack, eventually, start_stack
from tests.support.tls import self_signed
from voicesvc.config import Settings
from voicesvc.embedded import embedded
from voicesvc.events.nats import NatsEventLog
from voicesvc.sandbox import SandboxConfig
from voicesvc.server.interceptors import RpcInterceptor
from voicesvc.server.metrics import Metrics
from voicesvc.server.services import service_names
from voicesvc.transcode.routes import BY_METHOD
from voicesvc.v1 import call_control_pb2 as cc_pb2
from voicesvc.v1 import events_pb2, events_pb2_grpc

SPEAK = BY_METHOD["/voicesvc.v1.CallControl/SpeakText"]
DIAL = BY_METHOD["/voicesvc.v1.CallControl/DialCall"]
CONTRACT_SERVICES = {
    "voicesvc.v1.CallControl",
    "voicesvc.v1.CallControlApplications",
    "voicesvc.v1.CallEvents",
    "voicesvc.v1.Connections",
}


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Service logs (structlog and standard logging) captured as text, at debug level."""
    # As `voicesvc serve` does: the configured secrets (here the keys the tests use) are redacted.
    keys = [API_KEY, "KEY_rejected_by_the_sandbox_42"]
    secrets = [s for key in keys for s in Settings.from_values({"telnyx.api_key": key}).secrets()]
    with captured_logs(logging.DEBUG, secrets) as buffer:
        yield buffer


def speak(call_control_id: str) -> cc_pb2.SpeakTextRequest:
    return cc_pb2.SpeakTextRequest(call_control_id=call_control_id, payload="Hello", voice="female")


def dial_request() -> cc_pb2.DialCallRequest:
    fields: dict[str, Any] = {
        "connection_id": "conn-ops",
        "from": "+15550100000",
        "to_string": "+15550100001",
    }
    return cc_pb2.DialCallRequest(**fields)


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Sample values of one metric family: labels → value."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


# ------------------------------------------------------------------ health and reflection


async def test_health_reports_every_service_serving(stack: Stack) -> None:
    health = health_pb2_grpc.HealthStub(stack.channel)
    for name in ["", *service_names()]:
        reply = await health.Check(health_pb2.HealthCheckRequest(service=name))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, name
    listed = await health.List(health_pb2.HealthListRequest())
    assert {name: reply.status for name, reply in listed.statuses.items()} == dict.fromkeys(
        ["", *service_names(), "voicesvc.v1.EventStream", "voicesvc.v1.Calls", "voicesvc.v1.Subscriptions"],
        health_pb2.HealthCheckResponse.SERVING,
    )
    status, body = await stack.get("/healthz")
    assert status == 200
    status, body = await stack.get("/readyz")
    assert (status, json.loads(body)["status"]) == (200, "ready")


async def test_a_stream_that_reaches_its_deadline_is_recorded_as_deadline_exceeded(stack: Stack) -> None:
    stream = events_pb2_grpc.EventStreamStub(stack.channel).WatchEvents(
        events_pb2.WatchEventsRequest(), timeout=0.3
    )
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        async for _ in stream:
            pass
    assert ended.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    metrics = stack.service.metrics
    method, code = "/voicesvc.v1.EventStream/WatchEvents", "DEADLINE_EXCEEDED"
    await eventually(
        lambda: sample_value(metrics, "voicesvc_rpc_requests_total", method=method, code=code) == 1
    )


async def test_reflection_lists_the_services_and_serves_their_descriptors(stack: Stack) -> None:
    reflection = reflection_pb2_grpc.ServerReflectionStub(stack.channel)
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="voicesvc.v1.CallControl"),
    ]
    replies = [reply async for reply in reflection.ServerReflectionInfo(iter(requests))]
    names = {s.name for s in replies[0].list_services_response.service}
    assert names >= CONTRACT_SERVICES
    assert {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= names
    files = replies[1].file_descriptor_response.file_descriptor_proto
    assert files, "the CallControl descriptor is served"


# ------------------------------------------------------------------ graceful shutdown


async def test_shutdown_lets_in_flight_rpcs_finish_and_refuses_new_ones() -> None:
    async with start_stack(serving__grace_period_s=5.0) as stack:
        call = stack.dial_direct()
        stack.add_fault(kind="latency", path="/actions/speak$", latency_ms=400)
        health = health_pb2_grpc.HealthStub(stack.channel)
        watch = health.Watch(health_pb2.HealthCheckRequest(service=""))
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
        events = events_pb2_grpc.EventStreamStub(stack.channel).WatchEvents(events_pb2.WatchEventsRequest())
        assert (await events.read()).HasField("heartbeat")

        in_flight = asyncio.ensure_future(unary(stack.channel, SPEAK)(speak(call), timeout=10))
        await eventually(lambda: stack.journal("/actions/speak"))
        stopping = asyncio.ensure_future(stack.service.stop())
        await eventually(lambda: not stack.service.readiness.ready)
        status, _ = await stack.get("/readyz")
        assert status == 503
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.NOT_SERVING

        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await unary(stack.channel, SPEAK)(speak(call), timeout=5)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE

        response = await in_flight
        assert response.result == "ok"
        assert stack.executions(call, "speak") == 1
        await stopping
        # Streams never end on their own: they were ended once the unary calls were done.
        for stream in (watch, events):
            with pytest.raises(grpc.aio.AioRpcError) as ended:
                while True:
                    await stream.read()
            assert ended.value.code() == grpc.StatusCode.UNAVAILABLE


# ------------------------------------------------------------------ metrics


async def test_metrics_count_rpcs_and_upstream_requests(stack: Stack) -> None:
    _, before = await stack.get("/metrics")
    dial = unary(stack.channel, DIAL)
    await dial(dial_request())
    with pytest.raises(grpc.aio.AioRpcError):
        await dial(cc_pb2.DialCallRequest())
    status, after = await stack.get("/metrics")
    assert status == 200

    method = DIAL.full_method
    rpcs_before = samples(before, "voicesvc_rpc_requests_total")
    rpcs = samples(after, "voicesvc_rpc_requests_total")
    assert rpcs[(("code", "OK"), ("method", method))] == 1
    assert rpcs[(("code", "INVALID_ARGUMENT"), ("method", method))] == 1
    assert not rpcs_before
    latency = samples(after, "voicesvc_rpc_latency_seconds_count")
    assert latency[(("method", method),)] == 2
    upstream = samples(after, "voicesvc_upstream_requests_total")
    assert upstream == {(("method", "POST"), ("status", "200")): 1}


async def test_a_succeeded_rpc_is_counted_by_the_time_its_caller_has_the_response(stack: Stack) -> None:
    # Its report runs in the loop's turn after the response went out: before anything the caller does next.
    dial = unary(stack.channel, DIAL)
    for expected in (1, 2, 3):
        await dial(dial_request())
        _, rendered = await stack.get("/metrics")
        rpcs = samples(rendered, "voicesvc_rpc_requests_total")
        assert rpcs[(("code", "OK"), ("method", DIAL.full_method))] == expected


class _AbortingContext:
    """Just enough of a servicer context for one aborted RPC; notes what `/metrics` held when the status
    went out (grpc.aio sends it inside `abort`)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.counted_at_abort: dict[tuple[tuple[str, str], ...], float] | None = None

    def peer(self) -> str:
        return "ipv4:127.0.0.1:1"

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return ()

    async def send_initial_metadata(self, _metadata: Any) -> None:
        return None

    def set_trailing_metadata(self, _metadata: Any) -> None:
        return None

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.INVALID_ARGUMENT

    async def abort(self, code: grpc.StatusCode, details: str = "", trailing_metadata: Any = ()) -> None:
        rendered = self.metrics.render().decode()
        self.counted_at_abort = samples(rendered, "voicesvc_rpc_requests_total")
        raise grpc.aio.AbortError(details)


async def observed(metrics: Metrics, method: str, behavior: Any) -> grpc.RpcMethodHandler:
    """`behavior` as a unary handler wrapped by the server interceptor."""

    async def continuation(_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        return grpc.unary_unary_rpc_method_handler(behavior)

    details = SimpleNamespace(method=method, invocation_metadata=())
    handler = await RpcInterceptor(metrics).intercept_service(continuation, details)
    assert handler is not None
    return handler


async def test_an_aborted_rpc_is_counted_before_its_status_is_sent() -> None:
    async def refuse(_request: Any, context: grpc.aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad")

    metrics = Metrics()
    handler = await observed(metrics, "/test.Svc/Refuse", refuse)
    context = _AbortingContext(metrics)
    with pytest.raises(grpc.aio.AbortError):
        await handler.unary_unary(None, context)
    key = (("code", "INVALID_ARGUMENT"), ("method", "/test.Svc/Refuse"))
    assert context.counted_at_abort == {key: 1}
    # ...and only once, although the abort also passes through the interceptor's own cleanup.
    assert samples(metrics.render().decode(), "voicesvc_rpc_requests_total") == {key: 1}


async def test_a_failing_handler_is_recorded_with_the_code_its_caller_receives() -> None:
    async def fail(_request: Any, context: grpc.aio.ServicerContext) -> None:
        context.set_code(grpc.StatusCode.NOT_FOUND)
        raise RuntimeError("after setting the code")

    metrics = Metrics()
    handler = await observed(metrics, "/test.Svc/Fail", fail)
    context = _AbortingContext(metrics)
    context.code = lambda: grpc.StatusCode.NOT_FOUND  # type: ignore[method-assign]
    context.set_code = lambda _code: None  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError):
        await handler.unary_unary(None, context)
    assert samples(metrics.render().decode(), "voicesvc_rpc_requests_total") == {
        (("code", "NOT_FOUND"), ("method", "/test.Svc/Fail")): 1
    }


# ------------------------------------------------------------------ request ids


async def test_every_rpc_returns_its_request_id_with_its_status_and_streams_send_it_first() -> None:
    async with start_stack(auth__tokens=("token-request-ids",)) as stack:
        token = (("authorization", "Bearer token-request-ids"),)
        speak_rpc = unary(stack.channel, SPEAK)
        ok = speak_rpc(speak(stack.dial_direct()), metadata=(*token, ("x-request-id", "req-ok")))
        await ok
        assert ("x-request-id", "req-ok") in tuple(await ok.trailing_metadata())
        # Without one of the caller's, each call gets a fresh id of its own.
        fresh = []
        for _ in range(3):
            unnamed = speak_rpc(speak(stack.dial_direct()), metadata=token)
            await unnamed
            fresh.append(dict(await unnamed.trailing_metadata())["x-request-id"])
        assert all(re.fullmatch("[0-9a-f]{32}", given) for given in fresh)
        assert len(set(fresh)) == 3

        # A refusal by the service, by decoding and by authentication: the id rides with the status, and
        # the rich details beside it are intact.
        refusals = [
            (speak_rpc(speak("bad/id"), metadata=(*token, ("x-request-id", "req-bad"))), "req-bad"),
            (
                stack.channel.unary_unary(SPEAK.full_method)(
                    b"\xff\xff\xff", metadata=(*token, ("x-request-id", "req-bytes"))
                ),
                "req-bytes",
            ),
            (speak_rpc(speak("v3:x"), metadata=(("x-request-id", "req-anon"),)), "req-anon"),
        ]
        codes = []
        for rpc, request_id in refusals:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await rpc
            trailing = dict(refused.value.trailing_metadata() or ())
            assert trailing["x-request-id"] == request_id
            assert "grpc-status-details-bin" in trailing
            codes.append(refused.value.code())
        assert codes == [
            grpc.StatusCode.INVALID_ARGUMENT,
            grpc.StatusCode.INVALID_ARGUMENT,
            grpc.StatusCode.UNAUTHENTICATED,
        ]

        # A stream names its id before its first message.
        stream = events_pb2_grpc.EventStreamStub(stack.channel).WatchEvents(
            events_pb2.WatchEventsRequest(), metadata=(*token, ("x-request-id", "req-stream"))
        )
        assert ("x-request-id", "req-stream") in tuple(await stream.initial_metadata())
        stream.cancel()


# ------------------------------------------------------------------ logs


async def test_logs_are_json_with_request_ids_and_never_contain_the_api_key(log_output: io.StringIO) -> None:
    async with start_stack() as stack:
        call = stack.dial_direct()
        speak_rpc = unary(stack.channel, SPEAK)
        echoed = speak_rpc(speak(call), metadata=(("x-request-id", "req-123"),))
        await echoed
        assert ("x-request-id", "req-123") in tuple(await echoed.trailing_metadata())
        # The key where a careless service would echo it: as the caller's request id.
        await speak_rpc(speak(call), metadata=(("x-request-id", API_KEY),))
        stack.add_fault(kind="error", path="/actions/speak$", status=500)
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await speak_rpc(speak(call))
        assert API_KEY not in failed.value.details()
        with pytest.raises(grpc.aio.AioRpcError):
            await speak_rpc(speak("bad/id"))
        logging.getLogger("some.library").warning("connecting with Bearer %s", API_KEY)

    async with start_stack(telnyx__api_key="KEY_rejected_by_the_sandbox_42") as wrong:
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await unary(wrong.channel, DIAL)(dial_request())
        assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "KEY_rejected_by_the_sandbox_42" not in denied.value.details()

    text = log_output.getvalue()
    assert API_KEY not in text
    assert "KEY_rejected_by_the_sandbox_42" not in text
    assert "[redacted]" in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    access = [line for line in lines if line.get("event") == "rpc"]
    first = next(line for line in access if line.get("request_id") == "req-123")
    assert first["rpc"] == SPEAK.full_method
    assert first["code"] == "OK"
    assert first["upstream_status"] == 200
    assert first["latency_ms"] >= 0
    codes = [line["code"] for line in access if line["rpc"] == SPEAK.full_method]
    assert codes == ["OK", "OK", "UNAVAILABLE", "INVALID_ARGUMENT"]
    upstream = [line for line in lines if line.get("event") == "telnyx_request"]
    assert upstream
    assert all("request_id" in line for line in upstream)


# ------------------------------------------------------------------ caller authentication


async def test_bearer_tokens_are_required_when_configured() -> None:
    async with start_stack(auth__tokens=("token-alpha", "token-beta")) as stack:
        dial = unary(stack.channel, DIAL)
        for metadata in (
            (),
            (("authorization", "Bearer wrong"),),
            (("authorization", "Basic token-alpha"),),
            (("authorization", "Bearer token-alph"),),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as denied:
                await dial(dial_request(), metadata=metadata)
            assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert stack.journal() == []

        response = await dial(dial_request(), metadata=(("authorization", "Bearer token-beta"),))
        assert response.call_control_id
        assert len(stack.journal()) == 1

        # Health stays open for probes; reflection needs a token like everything else.
        health = health_pb2_grpc.HealthStub(stack.channel)
        reply = await health.Check(health_pb2.HealthCheckRequest())
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        assert (await health.List(health_pb2.HealthListRequest())).statuses
        reflection = reflection_pb2_grpc.ServerReflectionStub(stack.channel)
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            async for _ in reflection.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")])
            ):
                pass
        assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED


# ------------------------------------------------------------------ TLS


async def test_tls_and_mutual_tls(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    async with start_stack(tls__cert=cert, tls__key=key, tls__client_ca=cert) as stack:
        options = (("grpc.ssl_target_name_override", "localhost"),)
        pem = cert.read_bytes()
        trusted = grpc.ssl_channel_credentials(
            root_certificates=pem, private_key=key.read_bytes(), certificate_chain=pem
        )
        async with grpc.aio.secure_channel(stack.service.grpc_target, trusted, options=options) as channel:
            assert (await unary(channel, DIAL)(dial_request())).call_control_id
        anonymous = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        async with grpc.aio.secure_channel(stack.service.grpc_target, anonymous, options=options) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await unary(channel, DIAL)(dial_request(), timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


# ------------------------------------------------------------------ embedded sandbox


async def test_without_api_key_the_embedded_sandbox_serves_and_its_webhooks_are_trusted(
    log_output: io.StringIO,
) -> None:
    settings = Settings.from_values(FAST_SERVICE)
    assert settings.sandbox_mode
    config = SandboxConfig(**FAST_SANDBOX)
    async with embedded(settings, config) as running:
        service, sandbox = running.service, running.sandbox
        first: dict[str, Any] = json.loads(log_output.getvalue().splitlines()[0])
        assert first["event"] == "embedded_sandbox"
        assert first["level"] == "warning"  # shown even when only warnings are logged
        assert first["base_url"] == sandbox.base_url
        assert "TELNYX_API_KEY" in first["message"]

        async with grpc.aio.insecure_channel(service.grpc_target) as channel:
            request = events_pb2.WatchEventsRequest(filter=events_pb2.EventFilter(event_types=["call."]))
            events = events_pb2_grpc.EventStreamStub(channel).WatchEvents(request)
            assert (await events.read()).HasField("heartbeat")
            call = await unary(channel, DIAL)(dial_request())
            assert call.call_control_id in sandbox.engine.calls
            # The sandbox signs webhooks with its own key and sends them to this service's webhook route,
            # from where they reach WatchEvents.
            seen: list[events_pb2.Event] = []
            async with asyncio.timeout(5):
                while len(seen) < 2:
                    response = await events.read()
                    if response.HasField("event"):
                        seen.append(response.event)
            assert [e.event_type for e in seen] == ["call.initiated", "call.answered"]
            assert all(e.call_control_id == call.call_control_id for e in seen)
            events.cancel()
        await service.stop(grace_s=0)
    assert sandbox.api_key not in log_output.getvalue()


async def test_nats_backend_stores_the_webhooks(tmp_path: Path) -> None:
    with NatsServer(tmp_path) as nats:
        async with start_stack(events__backend=nats.url) as stack:
            await unary(stack.channel, DIAL)(dial_request())
            log = stack.service.event_log
            assert isinstance(log, NatsEventLog)

            async def stored() -> bool:
                return (await log.bounds())[1] is not None

            await eventually(stored, limit=10)
