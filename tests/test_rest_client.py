"""Behaviour of the Telnyx REST client against real aiohttp servers on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from google.rpc import status_pb2
from structlog.testing import capture_logs

from voicesvc.backoff import Backoff
from voicesvc.rest import (
    RestRequest,
    RetryMode,
    RetryPolicy,
    TelnyxAPIError,
    TelnyxClient,
    UpstreamDeadlineExceeded,
    UpstreamProtocolError,
    UpstreamUnavailable,
)
from voicesvc.rest.limits import ConnectionLimits
from voicesvc.server.status import rest_error_status

API_KEY = "KEY_SECRET_123"
FAST_RETRY = RetryPolicy(max_attempts=4, backoff=Backoff(initial_s=0.01, max_s=0.05, multiplier=2.0))

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    raw_path: str
    query_string: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    arrived: float
    peer: Any


@dataclass
class Upstream:
    """A loopback HTTP server standing in for Telnyx; records every request it receives."""

    handler: Handler
    seen: list[Seen] = field(default_factory=list)
    runner: web.AppRunner | None = None
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2"

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(
            Seen(
                method=request.method,
                raw_path=request.rel_url.raw_path,
                query_string=request.rel_url.raw_query_string,
                query=list(request.query.items()),
                headers=dict(request.headers),
                body=await request.read(),
                arrived=time.monotonic(),
                peer=request.transport.get_extra_info("peername") if request.transport else None,
            )
        )
        return await self.handler(request)

    async def setup(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # handler_cancellation lets a test observe the client abandoning a request.
        self.runner = web.AppRunner(app, handler_cancellation=True)
        await self.runner.setup()

    async def listen(self, sock: socket.socket | None = None) -> None:
        assert self.runner is not None
        site: web.BaseSite
        site = (
            web.SockSite(self.runner, sock) if sock is not None else web.TCPSite(self.runner, "127.0.0.1", 0)
        )
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@contextlib.asynccontextmanager
async def upstream(handler: Handler) -> AsyncIterator[Upstream]:
    server = Upstream(handler)
    await server.setup()
    await server.listen()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def client_for(base_url: str, **overrides: Any) -> AsyncIterator[TelnyxClient]:
    limit_names = {"connect_timeout_s", "request_timeout_s", "max_connections"}
    limits: dict[str, Any] = {"connect_timeout_s": 1.0, "request_timeout_s": 3.0}
    limits.update({k: v for k, v in overrides.items() if k in limit_names})
    options: dict[str, Any] = {"retry": FAST_RETRY, "limits": ConnectionLimits(**limits)}
    options.update({k: v for k, v in overrides.items() if k not in limit_names})
    async with TelnyxClient(base_url, API_KEY, **options) as client:
        yield client


def respond_in_sequence(*responses: Callable[[], web.StreamResponse]) -> Handler:
    """Answer the n-th request with the n-th factory; the last one repeats."""
    calls = 0

    async def handler(_request: web.Request) -> web.StreamResponse:
        nonlocal calls
        factory = responses[min(calls, len(responses) - 1)]
        calls += 1
        return factory()

    return handler


def ok(payload: Any = None) -> Callable[[], web.StreamResponse]:
    return lambda: web.json_response({"data": payload if payload is not None else {"result": "ok"}})


def failing(status: int, headers: dict[str, str] | None = None) -> Callable[[], web.StreamResponse]:
    body = {"errors": [{"code": str(10000 + status), "title": f"failure {status}"}]}
    return lambda: web.json_response(body, status=status, headers=headers)


def closed_port() -> int:
    """A loopback port with nobody listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def drop_connection(request: web.Request) -> web.StreamResponse:
    """Close the socket without sending any response bytes."""
    assert request.transport is not None
    request.transport.abort()
    return web.Response()


# --- the request on the wire -------------------------------------------------------------------------------


async def test_sends_exact_request() -> None:
    async with (
        upstream(respond_in_sequence(ok({"call_control_id": "abc"}))) as server,
        client_for(server.base_url) as client,
    ):
        query = [
            ("filter[occurred_at][gte]", "2024-01-01T00:00:00Z"),
            ("page[size]", "5"),
            ("to", "+15551234567"),
        ]
        body = {"to": "+15551234567", "from": "+15557654321", "timeout_secs": 0, "flag": False}
        response = await client.request(
            RestRequest(
                "post",
                "/calls/v3%3Aabc%2Fdef/actions/answer",
                query=query,
                body=body,
                retry_mode=RetryMode.IDEMPOTENT,
            )
        )

    assert response.status == 200
    assert response.json == {"data": {"call_control_id": "abc"}}
    assert response.attempts == 1
    assert response.headers["Content-Type"].startswith("application/json")
    [seen] = server.seen
    assert seen.method == "POST"
    assert seen.raw_path == "/v2/calls/v3%3Aabc%2Fdef/actions/answer"
    assert seen.query == query
    assert seen.query_string == (
        "filter%5Boccurred_at%5D%5Bgte%5D=2024-01-01T00%3A00%3A00Z&page%5Bsize%5D=5&to=%2B15551234567"
    )
    assert seen.headers["Authorization"] == f"Bearer {API_KEY}"
    assert seen.headers["Accept"] == "application/json"
    assert seen.headers["Accept-Encoding"] == "gzip, deflate"
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["User-Agent"] == "voicesvc/0.1"
    assert json.loads(seen.body) == body


async def test_get_without_body_and_empty_response() -> None:
    async with (
        upstream(respond_in_sequence(lambda: web.Response(status=204))) as server,
        client_for(server.base_url, user_agent="custom/9") as client,
    ):
        response = await client.request(RestRequest("GET", "/calls/x", retry_mode=RetryMode.IDEMPOTENT))
    assert response.status == 204
    assert response.json is None
    [seen] = server.seen
    assert seen.method == "GET"
    assert seen.body == b""
    assert "Content-Type" not in seen.headers
    assert seen.query_string == ""
    assert seen.headers["User-Agent"] == "custom/9"


async def test_connections_are_pooled_and_kept_alive() -> None:
    async with upstream(respond_in_sequence(ok())) as server, client_for(server.base_url) as client:
        for _ in range(3):
            await client.request(RestRequest("GET", "/calls/x", retry_mode=RetryMode.IDEMPOTENT))
    assert len({seen.peer for seen in server.seen}) == 1


async def test_closed_client_refuses_requests() -> None:
    client = TelnyxClient("http://127.0.0.1:1/v2", API_KEY, retry=FAST_RETRY, limits=ConnectionLimits(1, 1))
    await client.start()
    await client.close()
    with pytest.raises(RuntimeError):
        await client.request(RestRequest("GET", "/calls", retry_mode=RetryMode.NONE))


async def test_rejects_relative_path() -> None:
    async with client_for("http://127.0.0.1:1/v2") as client:
        with pytest.raises(ValueError):
            await client.request(RestRequest("GET", "calls", retry_mode=RetryMode.NONE))


# --- retries -----------------------------------------------------------------------------------------------


async def test_retries_503_then_succeeds() -> None:
    statuses: list[int] = []
    handler = respond_in_sequence(failing(503), failing(503), ok())
    async with upstream(handler) as server:
        hook = lambda _m, status, _s: statuses.append(status)  # noqa: E731
        async with client_for(server.base_url, on_response=hook) as client:
            response = await client.request(RestRequest("GET", "/calls/x", retry_mode=RetryMode.IDEMPOTENT))
    assert response.attempts == 3
    assert len(server.seen) == 3
    assert statuses == [503, 503, 200]


async def test_gives_up_after_max_attempts_with_last_error() -> None:
    async with (
        upstream(respond_in_sequence(failing(500))) as server,
        client_for(server.base_url) as client,
    ):
        with pytest.raises(TelnyxAPIError) as caught:
            await client.request(RestRequest("DELETE", "/x", retry_mode=RetryMode.IDEMPOTENT))
    assert caught.value.status == 500
    assert len(server.seen) == FAST_RETRY.max_attempts


async def test_429_waits_for_retry_after() -> None:
    handler = respond_in_sequence(failing(429, {"Retry-After": "0.2"}), ok())
    async with upstream(handler) as server, client_for(server.base_url) as client:
        response = await client.request(RestRequest("GET", "/calls", retry_mode=RetryMode.IDEMPOTENT))
    assert response.attempts == 2
    first, second = server.seen
    assert second.arrived - first.arrived >= 0.19


async def test_unsafe_post_is_retried_after_429_but_not_after_503() -> None:
    # The rate limiter refuses before processing, so even a POST without a key may be sent again.
    async with (
        upstream(respond_in_sequence(failing(429, {"Retry-After": "0"}), ok())) as server,
        client_for(server.base_url) as client,
    ):
        response = await client.request(
            RestRequest("POST", "/call_control_applications", body={}, retry_mode=RetryMode.UNSAFE)
        )
    assert response.attempts == 2
    async with (
        upstream(respond_in_sequence(failing(503), ok())) as server,
        client_for(server.base_url) as client,
    ):
        with pytest.raises(TelnyxAPIError) as caught:
            await client.request(
                RestRequest("POST", "/call_control_applications", body={}, retry_mode=RetryMode.UNSAFE)
            )
    assert caught.value.status == 503
    assert len(server.seen) == 1


async def test_retry_after_beyond_limit_is_not_waited_for() -> None:
    handler = respond_in_sequence(failing(429, {"Retry-After": "120"}), ok())
    async with (
        upstream(handler) as server,
        client_for(server.base_url, retry=RetryPolicy(max_retry_after_s=1.0)) as client,
    ):
        with pytest.raises(TelnyxAPIError) as caught:
            await client.request(RestRequest("GET", "/calls", retry_mode=RetryMode.IDEMPOTENT))
    assert caught.value.status == 429
    assert caught.value.retry_after == 120
    assert len(server.seen) == 1


async def test_idempotent_retries_dropped_connection() -> None:
    async with (
        upstream(_first_dropped(respond_in_sequence(ok()))) as server,
        client_for(server.base_url) as client,
    ):
        response = await client.request(
            RestRequest(
                "POST",
                "/calls/x/actions/hangup",
                body={"command_id": "c1"},
                retry_mode=RetryMode.IDEMPOTENT,
            )
        )
    assert response.attempts == 2
    assert len(server.seen) == 2


async def test_unsafe_does_not_retry_after_possible_send() -> None:
    async with upstream(drop_connection) as server, client_for(server.base_url) as client:
        with pytest.raises(UpstreamUnavailable):
            await client.request(
                RestRequest("POST", "/calls", body={"to": "+1"}, retry_mode=RetryMode.UNSAFE)
            )
    assert len(server.seen) == 1


async def test_unsafe_does_not_retry_5xx() -> None:
    async with (
        upstream(respond_in_sequence(failing(503), ok())) as server,
        client_for(server.base_url) as client,
    ):
        with pytest.raises(TelnyxAPIError):
            await client.request(
                RestRequest("POST", "/calls", body={"to": "+1"}, retry_mode=RetryMode.UNSAFE)
            )
    assert len(server.seen) == 1


async def test_unsafe_retries_when_connection_was_refused() -> None:
    port = closed_port()
    server = Upstream(respond_in_sequence(ok({"call_control_id": "new"})))
    await server.setup()
    listening: list[socket.socket] = []
    statuses: list[int] = []

    def hook(_method: str, status: int, _seconds: float) -> None:
        statuses.append(status)
        if not listening:
            # The first attempt was refused: open the port now; the kernel queues the retry's connection
            # until the server starts accepting.
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
            sock.listen(16)
            listening.append(sock)
            asyncio.get_running_loop().create_task(server.listen(sock))

    try:
        async with client_for(f"http://127.0.0.1:{port}/v2", on_response=hook) as client:
            response = await client.request(
                RestRequest("POST", "/calls", body={"to": "+1"}, retry_mode=RetryMode.UNSAFE)
            )
    finally:
        await server.stop()
    assert response.json == {"data": {"call_control_id": "new"}}
    assert response.attempts == 2
    assert statuses == [0, 200]
    assert len(server.seen) == 1


async def test_refused_connection_exhausts_attempts() -> None:
    statuses: list[int] = []
    hook = lambda _m, status, _s: statuses.append(status)  # noqa: E731
    async with client_for(f"http://127.0.0.1:{closed_port()}/v2", on_response=hook) as client:
        with pytest.raises(UpstreamUnavailable) as caught:
            await client.request(RestRequest("GET", "/calls", retry_mode=RetryMode.IDEMPOTENT))
    assert statuses == [0] * FAST_RETRY.max_attempts
    assert "127.0.0.1" in caught.value.reason


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
async def test_no_retry_on_client_errors(status: int) -> None:
    async with (
        upstream(respond_in_sequence(failing(status), ok())) as server,
        client_for(server.base_url) as client,
    ):
        with pytest.raises(TelnyxAPIError) as caught:
            await client.request(RestRequest("GET", "/calls/x", retry_mode=RetryMode.IDEMPOTENT))
    assert caught.value.status == status
    assert caught.value.errors == [{"code": str(10000 + status), "title": f"failure {status}"}]
    assert len(server.seen) == 1


async def test_mode_none_never_retries() -> None:
    async with (
        upstream(respond_in_sequence(failing(503), ok())) as server,
        client_for(server.base_url) as client,
    ):
        with pytest.raises(TelnyxAPIError):
            await client.request(RestRequest("GET", "/calls", retry_mode=RetryMode.NONE))
    assert len(server.seen) == 1


# --- deadlines and timeouts --------------------------------------------------------------------------------


def _hanging(release: asyncio.Event) -> Handler:
    async def handler(_request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.json_response({"data": {}})

    return handler


def _first_dropped(then: Handler) -> Handler:
    calls = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            return await drop_connection(request)
        return await then(request)

    return handler


async def test_deadline_bounds_a_slow_upstream() -> None:
    release = asyncio.Event()
    async with upstream(_hanging(release)) as server:
        async with client_for(server.base_url) as client:
            with pytest.raises(UpstreamDeadlineExceeded):
                await client.request(
                    RestRequest(
                        "GET", "/calls", retry_mode=RetryMode.IDEMPOTENT, deadline=time.monotonic() + 0.3
                    )
                )
        release.set()
    assert len(server.seen) == 1


async def test_expired_deadline_sends_nothing() -> None:
    async with upstream(respond_in_sequence(ok())) as server, client_for(server.base_url) as client:
        with pytest.raises(UpstreamDeadlineExceeded):
            await client.request(
                RestRequest("GET", "/calls", retry_mode=RetryMode.IDEMPOTENT, deadline=time.monotonic())
            )
    assert server.seen == []


async def test_backoff_past_deadline_returns_last_error() -> None:
    async with (
        upstream(respond_in_sequence(failing(503, {"Retry-After": "5"}), ok())) as server,
        client_for(server.base_url) as client,
    ):
        with pytest.raises(TelnyxAPIError) as caught:
            await client.request(
                RestRequest("GET", "/calls", retry_mode=RetryMode.IDEMPOTENT, deadline=time.monotonic() + 1.0)
            )
    assert caught.value.status == 503
    assert caught.value.retry_after == 5
    assert len(server.seen) == 1


async def test_request_timeout_is_retried_when_idempotent() -> None:
    release = asyncio.Event()
    slow_then_fast = _slow_first(release)
    async with upstream(slow_then_fast) as server:
        async with client_for(server.base_url, request_timeout_s=0.2) as client:
            response = await client.request(RestRequest("GET", "/calls", retry_mode=RetryMode.IDEMPOTENT))
            task = asyncio.current_task()
            assert task is not None
            # The timed-out attempt's own cancellation was taken back: nothing is left to cancel the caller.
            assert task.cancelling() == 0
        release.set()
    assert response.attempts == 2


async def test_request_timeout_is_not_retried_when_unsafe() -> None:
    release = asyncio.Event()
    async with upstream(_slow_first(release)) as server:
        async with client_for(server.base_url, request_timeout_s=0.2) as client:
            with pytest.raises(UpstreamDeadlineExceeded):
                await client.request(RestRequest("POST", "/calls", body={}, retry_mode=RetryMode.UNSAFE))
        release.set()
    assert len(server.seen) == 1


async def test_the_callers_own_time_limit_is_not_taken_for_the_attempts() -> None:
    release = asyncio.Event()
    async with upstream(_slow_first(release)) as server:
        async with client_for(server.base_url, request_timeout_s=5.0) as client:
            with pytest.raises(TimeoutError) as caught:
                async with asyncio.timeout(0.2):
                    await client.request(RestRequest("GET", "/calls", retry_mode=RetryMode.IDEMPOTENT))
            assert not isinstance(caught.value, UpstreamDeadlineExceeded)
        release.set()
    assert len(server.seen) == 1  # cancelled, not retried


class _CancellationTurnedIntoAnError:
    """A connection pool whose connecting waits forever and, when cancelled, fails with another error."""

    def take_idle(self) -> None:
        return None

    async def connect(self, _timeout_s: float) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise RuntimeError("cleanup failed") from None

    async def close(self) -> None:
        pass


async def test_the_limits_cancellation_is_taken_back_whatever_error_it_became() -> None:
    async with client_for("http://127.0.0.1:9/v2", request_timeout_s=0.05) as client:
        client._pool = _CancellationTurnedIntoAnError()  # type: ignore[assignment]
        with pytest.raises(RuntimeError, match="cleanup failed"):
            await client.request(RestRequest("GET", "/calls", retry_mode=RetryMode.IDEMPOTENT))
        task = asyncio.current_task()
        assert task is not None
        assert task.cancelling() == 0


def _slow_first(release: asyncio.Event) -> Handler:
    calls = 0

    async def handler(_request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            with contextlib.suppress(asyncio.CancelledError):
                await release.wait()
        return web.json_response({"data": {"n": calls}})

    return handler


async def test_closing_the_client_ends_its_requests_without_retrying_them() -> None:
    arrived = asyncio.Event()

    async def handler(_request: web.Request) -> web.StreamResponse:
        arrived.set()
        await asyncio.Event().wait()
        return web.Response()

    async with upstream(handler) as server:
        attempts: list[int] = []
        client = TelnyxClient(
            server.base_url,
            API_KEY,
            retry=FAST_RETRY,
            on_response=lambda _m, status, _s: attempts.append(status),
        )
        task = asyncio.create_task(
            client.request(RestRequest("GET", "/calls", retry_mode=RetryMode.IDEMPOTENT))
        )
        await asyncio.wait_for(arrived.wait(), 5)
        await client.close()
        with pytest.raises(UpstreamUnavailable, match="connection pool closed"):
            await task
    assert attempts == [0]  # one attempt, not retried
    assert len(server.seen) == 1


async def test_cancellation_aborts_the_upstream_request() -> None:
    arrived = asyncio.Event()
    abandoned = asyncio.Event()

    async def handler(_request: web.Request) -> web.StreamResponse:
        arrived.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            abandoned.set()
            raise
        return web.Response()

    async with upstream(handler) as server, client_for(server.base_url) as client:
        task = asyncio.create_task(
            client.request(RestRequest("POST", "/calls", body={}, retry_mode=RetryMode.IDEMPOTENT))
        )
        await asyncio.wait_for(arrived.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(abandoned.wait(), 5)
    assert len(server.seen) == 1


# --- response bodies ---------------------------------------------------------------------------------------


async def test_non_json_error_body_becomes_one_error() -> None:
    page = "<html>" + "x" * 2000 + "</html>"
    handler = respond_in_sequence(lambda: web.Response(status=502, text=page, content_type="text/html"))
    async with upstream(handler) as server, client_for(server.base_url) as client:
        with pytest.raises(TelnyxAPIError) as caught:
            await client.request(RestRequest("GET", "/calls", retry_mode=RetryMode.NONE))
    [error] = caught.value.errors
    assert error["title"] == "Bad Gateway"
    assert error["detail"].startswith("<html>xxx")
    assert len(error["detail"]) <= 500


async def test_success_with_unreadable_body() -> None:
    handler = respond_in_sequence(lambda: web.Response(status=200, text="not json"))
    async with upstream(handler) as server, client_for(server.base_url) as client:
        with pytest.raises(UpstreamProtocolError):
            await client.request(RestRequest("GET", "/calls", retry_mode=RetryMode.IDEMPOTENT))
    assert len(server.seen) == 1


# --- logging -----------------------------------------------------------------------------------------------


async def test_each_attempt_is_logged() -> None:
    async with (
        upstream(respond_in_sequence(failing(503), ok())) as server,
        client_for(server.base_url) as client,
    ):
        with capture_logs() as logs:
            await client.request(
                RestRequest("GET", "/calls/x", retry_mode=RetryMode.IDEMPOTENT, request_id="req-7")
            )
    attempts = [entry for entry in logs if entry["event"] == "telnyx_request"]
    assert [(e["method"], e["path"], e["status"], e["attempt"], e["request_id"]) for e in attempts] == [
        ("GET", "/calls/x", 503, 1, "req-7"),
        ("GET", "/calls/x", 200, 2, "req-7"),
    ]
    assert all(e["log_level"] == "debug" and e["latency_ms"] >= 0 for e in attempts)


# --- the API key never leaks -------------------------------------------------------------------------------


async def _echo_key(request: web.Request) -> web.StreamResponse:
    auth = request.headers["Authorization"]
    body = {"errors": [{"code": "10009", "title": f"Bad key {auth}", "detail": f"you sent {auth}"}]}
    return web.json_response(body, status=401, headers={"X-Echo": auth, "Retry-After": "1"})


async def test_api_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    raised: list[Exception] = []
    release = asyncio.Event()
    with capture_logs() as logs:
        async with upstream(_echo_key) as server, client_for(server.base_url) as client:
            with pytest.raises(TelnyxAPIError) as api_error:
                await client.request(RestRequest("GET", "/calls", retry_mode=RetryMode.IDEMPOTENT))
            raised.append(api_error.value)
            assert repr(client).count(API_KEY) == 0
        async with (
            upstream(respond_in_sequence(lambda: web.Response(text=f"oops {API_KEY}"))) as server,
            client_for(server.base_url) as client,
        ):
            with pytest.raises(UpstreamProtocolError) as protocol_error:
                await client.request(RestRequest("GET", "/calls", retry_mode=RetryMode.IDEMPOTENT))
            raised.append(protocol_error.value)
        async with client_for(f"http://127.0.0.1:{closed_port()}/v2") as client:
            with pytest.raises(UpstreamUnavailable) as unavailable:
                await client.request(RestRequest("GET", "/calls", retry_mode=RetryMode.IDEMPOTENT))
            raised.append(unavailable.value)
        async with upstream(_hanging(release)) as server:
            async with client_for(server.base_url) as client:
                with pytest.raises(UpstreamDeadlineExceeded) as deadline:
                    await client.request(
                        RestRequest(
                            "GET", "/calls", retry_mode=RetryMode.IDEMPOTENT, deadline=time.monotonic() + 0.2
                        )
                    )
                raised.append(deadline.value)
            release.set()

    assert "[redacted]" in api_error.value.errors[0]["detail"]
    assert api_error.value.headers["X-Echo"] == "Bearer [redacted]"
    for exc in raised:
        status = rest_error_status(exc)  # type: ignore[arg-type]
        details = dict(status.trailing_metadata)["grpc-status-details-bin"]
        texts = [
            str(exc),
            repr(exc),
            repr(exc.args),
            str(vars(exc)),
            status.details,
            str(status_pb2.Status.FromString(details)),
        ]
        assert exc.__cause__ is None
        for text in texts:
            assert API_KEY not in text
        assert API_KEY.encode() not in details
    assert logs
    assert all(API_KEY not in repr(entry) for entry in logs)
    assert API_KEY not in caplog.text
