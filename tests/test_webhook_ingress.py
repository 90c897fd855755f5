"""The webhook endpoint over real HTTP, on the service's own server and in an aiohttp application: answers,
what gets stored, what is counted."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from voicesvc.events import EventLog, LogUnavailable, MemoryEventLog, Start, decode_cursor
from voicesvc.events.log import AppendResult, EventIds
from voicesvc.server.http import Readiness, http_routes
from voicesvc.server.httpd import HttpServer
from voicesvc.server.metrics import Metrics
from voicesvc.webhooks import Signer, WebhookIngress, WebhookMetrics, WebhookVerifier, make_webhook_handler

PATH = "/webhooks/telnyx"
MAX_BODY = 4096


class FailingLog(MemoryEventLog):
    """A log whose storage is down."""

    async def append(
        self, raw: bytes, event_id: str, event_type: str, attempt: int = 1, ids: EventIds | None = None
    ) -> AppendResult:
        raise LogUnavailable("storage is down")


@dataclass
class Endpoint:
    url: str
    log: EventLog
    signer: Signer
    registry: CollectorRegistry
    http: aiohttp.ClientSession

    async def post(self, raw: bytes | Any, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        async with self.http.post(self.url, data=raw, headers=headers) as response:
            assert response.content_type == "application/json"
            return response.status, await response.json()

    async def deliver(self, raw: bytes) -> tuple[int, dict[str, Any]]:
        return await self.post(raw, self.signer.sign_telnyx(raw, int(time.time())))

    def count(self, outcome: str, reason: str = "none") -> float:
        value = self.registry.get_sample_value(
            "voicesvc_webhooks_total", {"outcome": outcome, "reason": reason}
        )
        return value or 0.0


EndpointFactory = Callable[..., Awaitable[Endpoint]]


@pytest.fixture(params=["service", "aiohttp"])
async def start_endpoint(request: pytest.FixtureRequest) -> AsyncIterator[EndpointFactory]:
    """The endpoint on the service's own HTTP server, or mounted in an aiohttp application."""
    closers: list[Callable[[], Awaitable[Any]]] = []

    async def start(log: EventLog | None = None) -> Endpoint:
        signer = Signer.generate()
        log = log or MemoryEventLog()
        registry = CollectorRegistry()
        verifier = WebhookVerifier([signer.public_key_b64])
        metrics = WebhookMetrics(registry)
        if request.param == "service":
            ingress = WebhookIngress(verifier, log, max_body_bytes=MAX_BODY, metrics=metrics)
            server = HttpServer(
                http_routes(Metrics(), Readiness(), ingress),
                Metrics(),
                header_timeout_s=10,
                body_timeout_s=10,
                max_connections=100,
            )
            await server.start("127.0.0.1", 0)
            closers.append(lambda: server.close(1.0))
            port = server.port
        else:
            app = web.Application()
            app.router.add_post(
                PATH, make_webhook_handler(verifier, log, max_body_bytes=MAX_BODY, metrics=metrics)
            )
            runner = web.AppRunner(app)
            await runner.setup()
            closers.append(runner.cleanup)
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            port = runner.addresses[0][1]
        session = aiohttp.ClientSession()
        closers.append(session.close)
        return Endpoint(f"http://127.0.0.1:{port}{PATH}", log, signer, registry, session)

    yield start
    for close in reversed(closers):
        await close()


@pytest.fixture
async def endpoint(start_endpoint: EndpointFactory) -> Endpoint:
    return await start_endpoint()


def webhook(event_type: str = "call.answered", event_id: str | None = None, attempt: int = 1) -> bytes:
    data = {
        "id": event_id or str(uuid.uuid4()),
        "event_type": event_type,
        "record_type": "event",
        "occurred_at": "2025-01-01T00:00:00Z",
        "payload": {"call_control_id": "v3:abc"},
    }
    return json.dumps({"data": data, "meta": {"attempt": attempt, "delivered_to": "x"}}, indent=1).encode()


async def stored(log: EventLog) -> list[Any]:
    oldest, latest = await log.bounds()
    if latest is None:
        return []
    sub = await log.subscribe(Start.oldest())
    events = [await sub.next(1.0) for _ in range(latest - (oldest or latest) + 1)]
    await sub.close()
    return events


async def test_verified_webhook_is_stored_exactly_as_received(endpoint: Endpoint) -> None:
    raw = webhook("call.hangup", attempt=2)
    status, answer = await endpoint.deliver(raw)
    assert status == 200
    assert answer["status"] == "accepted"
    assert answer["duplicate"] is False
    decode_cursor(answer["cursor"])
    (event,) = await stored(endpoint.log)
    assert event.raw == raw
    assert (event.event_type, event.attempt, event.cursor) == ("call.hangup", 2, answer["cursor"])
    assert event.event_id == json.loads(raw)["data"]["id"]
    assert endpoint.count("accepted") == 1


async def test_standard_webhooks_headers_are_accepted(endpoint: Endpoint) -> None:
    raw = webhook()
    status, _ = await endpoint.post(raw, endpoint.signer.sign_standard(raw, "msg_2", int(time.time())))
    assert status == 200


async def test_redelivery_is_acknowledged_and_stored_once(endpoint: Endpoint) -> None:
    event_id = str(uuid.uuid4())
    status1, first = await endpoint.deliver(webhook(event_id=event_id, attempt=1))
    status2, second = await endpoint.deliver(webhook(event_id=event_id, attempt=2))
    assert (status1, status2) == (200, 200)
    assert first["duplicate"] is False
    assert second["duplicate"] is True
    assert second["cursor"] == first["cursor"]
    assert len(await stored(endpoint.log)) == 1
    assert (endpoint.count("accepted"), endpoint.count("duplicate")) == (1, 1)


async def test_the_answer_is_exactly_the_json_it_always_was(endpoint: Endpoint) -> None:
    raw = webhook()
    headers = endpoint.signer.sign_telnyx(raw, int(time.time()))
    for duplicate in (False, True):
        async with endpoint.http.post(endpoint.url, data=raw, headers=headers) as response:
            body = await response.read()
            assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        cursor = json.loads(body)["cursor"]
        expected = {"status": "accepted", "cursor": cursor, "duplicate": duplicate}
        assert body == json.dumps(expected).encode()


async def reject(endpoint: Endpoint, raw: bytes | Any, headers: dict[str, str]) -> tuple[int, str]:
    status, answer = await endpoint.post(raw, headers)
    assert set(answer) == {"error"}
    assert answer["error"]["message"]
    return status, answer["error"]["reason"]


async def test_signature_and_header_problems_are_401(endpoint: Endpoint) -> None:
    raw = webhook()
    now = int(time.time())
    sign = endpoint.signer.sign_telnyx
    cases = {
        "missing_headers": {},
        "bad_signature": Signer.generate().sign_telnyx(raw, now),
        "stale_timestamp": sign(raw, now - 3600),
        "future_timestamp": sign(raw, now + 3600),
        "bad_timestamp": {**sign(raw, now), "telnyx-timestamp": "yesterday"},
        "unsupported_signature_version": {
            **endpoint.signer.sign_standard(raw, "m", now),
            "webhook-signature": "v1,aG1hYw==",
        },
    }
    for reason, headers in cases.items():
        assert await reject(endpoint, raw, headers) == (401, reason)
        assert endpoint.count("rejected", reason) == 1
    assert await stored(endpoint.log) == []


async def test_tampered_body_is_401(endpoint: Endpoint) -> None:
    raw = webhook()
    headers = endpoint.signer.sign_telnyx(raw, int(time.time()))
    assert await reject(endpoint, raw.replace(b"call.answered", b"call.hangup"), headers) == (
        401,
        "bad_signature",
    )


async def test_oversized_body_is_413(endpoint: Endpoint) -> None:
    raw = b'{"pad": "' + b"x" * MAX_BODY + b'"}'
    assert await reject(endpoint, raw, endpoint.signer.sign_telnyx(raw)) == (413, "body_too_large")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit applies while reading
        for _ in range(64):
            yield b"x" * 1024

    assert await reject(endpoint, chunks(), endpoint.signer.sign_telnyx(b"")) == (413, "body_too_large")
    assert endpoint.count("rejected", "body_too_large") == 2
    # A body of exactly the limit is fine.
    exact = webhook()
    exact = exact[:-1] + b" " * (MAX_BODY - len(exact)) + b"}"
    assert len(exact) == MAX_BODY
    status, _ = await endpoint.deliver(exact)
    assert status == 200


async def test_malformed_json_is_400(endpoint: Endpoint) -> None:
    for raw in (b"{not json", b"[]"):
        assert await reject(endpoint, raw, endpoint.signer.sign_telnyx(raw)) == (400, "malformed_json")
    assert endpoint.count("rejected", "malformed_json") == 2


def answered_with(payload: bytes) -> bytes:
    """A call.answered envelope whose payload is the JSON text `payload`."""
    return b'{"data": {"id": "e1", "event_type": "call.answered", "payload": ' + payload + b"}}"


UNRELAYABLE = {
    "number_beyond_a_double_exponent": answered_with(b'{"x": 1e400}'),
    "number_beyond_a_double_digits": answered_with(b'{"x": ' + b"9" * 400 + b"}"),
    "unpaired_surrogate": answered_with(b'{"call_control_id": "v3:\\ud800"}'),
    "nested_too_deep": answered_with(b'{"x": ' + b"[" * 30 + b"]" * 30 + b"}"),
}


@pytest.mark.parametrize("raw", list(UNRELAYABLE.values()), ids=list(UNRELAYABLE))
async def test_json_that_protobuf_cannot_carry_is_400_and_not_stored(endpoint: Endpoint, raw: bytes) -> None:
    assert await reject(endpoint, raw, endpoint.signer.sign_telnyx(raw)) == (400, "malformed_json")
    assert await stored(endpoint.log) == []


@pytest.mark.parametrize(
    "envelope",
    [
        {"meta": {}},
        {"data": "nope"},
        {"data": {"event_type": "call.answered"}},
        {"data": {"id": "abc"}},
        {"data": {"id": "", "event_type": "call.answered"}},
        {"data": {"id": 7, "event_type": "call.answered"}},
        {"data": {"id": "abc", "event_type": "call..answered"}},
        {"data": {"id": "abc", "event_type": "call.*"}},
        {"data": {"id": "a b", "event_type": "call.answered"}},
    ],
)
async def test_envelope_without_usable_id_or_type_is_400(
    endpoint: Endpoint, envelope: dict[str, Any]
) -> None:
    raw = json.dumps(envelope).encode()
    assert await reject(endpoint, raw, endpoint.signer.sign_telnyx(raw)) == (400, "invalid_event")
    assert await stored(endpoint.log) == []


async def test_missing_or_odd_attempt_defaults_to_one(endpoint: Endpoint) -> None:
    raw = json.dumps({"data": {"id": "e1", "event_type": "call.answered"}, "meta": {"attempt": "3"}}).encode()
    assert (await endpoint.deliver(raw))[0] == 200
    raw = json.dumps({"data": {"id": "e2", "event_type": "call.answered"}}).encode()
    assert (await endpoint.deliver(raw))[0] == 200
    assert [e.attempt for e in await stored(endpoint.log)] == [1, 1]


async def test_log_failure_is_503_so_telnyx_retries(start_endpoint: EndpointFactory) -> None:
    endpoint = await start_endpoint(FailingLog())
    status, answer = await endpoint.deliver(webhook())
    assert status == 503
    assert answer["error"]["reason"] == "log_unavailable"
    assert endpoint.count("rejected", "log_unavailable") == 1
    assert endpoint.count("accepted") == 0


async def test_closed_log_is_503(start_endpoint: EndpointFactory) -> None:
    log = MemoryEventLog()
    await log.close()
    endpoint = await start_endpoint(log)
    status, answer = await endpoint.deliver(webhook())
    assert (status, answer["error"]["reason"]) == (503, "log_unavailable")


async def test_subscriber_receives_the_delivered_event(endpoint: Endpoint) -> None:
    sub = await endpoint.log.subscribe(Start.now(), ["call."])
    raw = webhook("call.bridged")
    status, answer = await endpoint.deliver(raw)
    assert status == 200
    event = await sub.next(5.0)
    assert event is not None
    assert event.raw == raw
    assert event.cursor == answer["cursor"]
