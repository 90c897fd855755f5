"""Finding 3: slow and idle clients cannot starve the HTTP port. Headers must arrive within the header
timeout, a body within the body timeout, and at most `http_max_connections` connections are open: a new one
closes the longest idle one, so webhooks and probes are still answered."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.support.events import WebhookPoster, webhook_body
from tests.support.stack import Stack, eventually, start_stack
from voicesvc.config import OPTIONS, Settings, add_arguments
from voicesvc.options import resolve
from voicesvc.webhooks import Signer

SLOW_HEADERS = b"POST /webhooks/telnyx HTTP/1.1\r\nHost: voicesvc\r\nContent-Type: application/json\r\n"
"""A request line and headers without the blank line that ends them."""


@asynccontextmanager
async def _slow_clients(
    stack: Stack, count: int
) -> AsyncIterator[list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]:
    port = stack.service.http_port
    clients = []
    try:
        for _ in range(count):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(SLOW_HEADERS)
            await writer.drain()
            clients.append((reader, writer))
        yield clients
    finally:
        for _, writer in clients:
            writer.close()


async def _closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """What the server sent before closing (waits for the close; a reset counts as closed too)."""
    try:
        return await reader.read()
    except ConnectionResetError:
        return b""


def _metric(text: str, name: str, labels: dict[str, str] | None = None) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == (labels or {}):
                return sample.value
    return 0.0


async def _healthz(port: int) -> int:
    # A fresh connection each time, as a prober makes.
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session,
        session.get(f"http://127.0.0.1:{port}/healthz", timeout=aiohttp.ClientTimeout(total=10)) as r,
    ):
        return r.status


async def test_slowloris_connections_are_closed_after_the_header_timeout() -> None:
    async with start_stack(serving__http_header_timeout_s=0.3) as stack, _slow_clients(stack, 20) as clients:
        # Each one is closed by the server, without an answer (it never finished a request).
        async with asyncio.timeout(30):
            received = await asyncio.gather(*(_closed_by_server(reader) for reader, _ in clients))
        assert received == [b""] * 20
        assert await _healthz(stack.service.http_port) == 200
        _, metrics = await stack.get("/metrics")
        assert _metric(metrics, "voicesvc_http_connections_closed_total", {"reason": "header_timeout"}) == 20


async def test_at_the_connection_limit_healthz_and_webhooks_are_still_served() -> None:
    limit = 8
    # A header timeout far beyond the test: only the connection limit can make room.
    signer = Signer.generate()
    async with start_stack(
        serving__http_max_connections=limit,
        serving__http_header_timeout_s=600,
        webhooks__public_keys=(signer.public_key_b64,),
    ) as stack:
        port = stack.service.http_port
        async with _slow_clients(stack, 3 * limit) as clients:
            # Every connection beyond the limit closed the longest idle one: the oldest slow clients are gone.
            await eventually(lambda: stack.service.http_open_connections == limit, limit=10)
            async with asyncio.timeout(30):
                evicted = await asyncio.gather(
                    *(_closed_by_server(reader) for reader, _ in clients[: 2 * limit])
                )
            assert evicted == [b""] * (2 * limit)
            for _ in range(3):
                assert await _healthz(port) == 200
            # A signed webhook is stored too.
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
                raw, _ = webhook_body("call.initiated")
                status, answer = await WebhookPoster(session, stack.http_url, signer).post_signed(raw)
                assert (status, answer["status"]) == (200, "accepted")
                async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                    metrics = await response.text()
            assert stack.service.http_open_connections <= limit
            evictions = _metric(metrics, "voicesvc_http_connections_closed_total", {"reason": "evicted"})
            assert evictions >= 2 * limit
            assert _metric(metrics, "voicesvc_http_open_connections") <= limit


async def test_a_body_that_does_not_arrive_in_time_is_answered_408_and_the_connection_closed() -> None:
    async with start_stack(serving__http_body_timeout_s=0.3) as stack:
        reader, writer = await asyncio.open_connection("127.0.0.1", stack.service.http_port)
        try:
            writer.write(SLOW_HEADERS + b"Content-Length: 1000\r\n\r\n" + b'{"data": ')
            await writer.drain()
            async with asyncio.timeout(30):
                answer = await _closed_by_server(reader)
        finally:
            writer.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 ")
        assert json.loads(body)["error"]["reason"] == "body_timeout"
        assert stack.journal() == []
        _, metrics = await stack.get("/metrics")
        assert _metric(metrics, "voicesvc_http_connections_closed_total", {"reason": "body_timeout"}) == 1


async def test_requests_on_a_kept_alive_connection_are_unaffected() -> None:
    async with start_stack(serving__http_header_timeout_s=5) as stack:
        # One pooled connection, several requests in a row: none is cut.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
            for _ in range(5):
                async with session.get(stack.http_url + "/healthz") as response:
                    assert response.status == 200
        assert stack.service.http_open_connections <= 1


async def _get_healthz(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """One keep-alive `GET /healthz` on an open connection: the status line."""
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: voicesvc\r\n\r\n")
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await reader.readexactly(length)
    return head.split(b"\r\n", 1)[0]


async def test_the_header_timeout_counts_from_the_end_of_the_last_request() -> None:
    async with start_stack(serving__http_header_timeout_s=1.0) as stack:
        reader, writer = await asyncio.open_connection("127.0.0.1", stack.service.http_port)
        try:
            # Requests spread over longer than the timeout, each gap shorter: the connection stays open.
            for _ in range(4):
                assert await _get_healthz(reader, writer) == b"HTTP/1.1 200 OK"
                await asyncio.sleep(0.3)
            assert await _get_healthz(reader, writer) == b"HTTP/1.1 200 OK"
            # Then idle: closed by the header timeout.
            assert await asyncio.wait_for(_closed_by_server(reader), 10) == b""
        finally:
            writer.close()
        async with aiohttp.ClientSession() as session, session.get(stack.http_url + "/metrics") as response:
            metrics = await response.text()
        assert _metric(metrics, "voicesvc_http_connections_closed_total", {"reason": "header_timeout"}) == 1


def test_the_settings_have_defaults_flags_and_variables() -> None:
    serving = Settings().serving
    assert (serving.http_header_timeout_s, serving.http_body_timeout_s, serving.http_max_connections) == (
        10.0,
        30.0,
        1024,
    )
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--http-body-timeout", "5"])
    values = resolve(
        OPTIONS, args, {"VOICESVC_HTTP_HEADER_TIMEOUT": "2.5", "VOICESVC_HTTP_MAX_CONNECTIONS": "64"}
    )
    settings = Settings.from_values(values).serving
    assert (settings.http_header_timeout_s, settings.http_body_timeout_s, settings.http_max_connections) == (
        2.5,
        5.0,
        64,
    )
