"""The HTTP/1.1 transport under the REST client, against a loopback server that answers with exact bytes."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import importlib.util
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.tls import self_signed
from voicesvc.rest.http1 import (
    IDLE_TIMEOUT_S,
    MAX_HEAD_BYTES,
    ConnectFailed,
    Connection,
    ConnectionDropped,
    ConnectionPool,
    ConnectTimeout,
    MalformedResponse,
    Origin,
    Response,
)

GET = b"GET /v2/calls/x HTTP/1.1\r\nHost: example\r\n\r\n"

Reply = list[bytes] | Callable[[asyncio.StreamWriter], None] | None
"""The pieces written in answer to one request (each flushed on its own), what to do instead (then the
connection is closed), or None: no answer (the connection stays open for the next request)."""


@dataclass
class RawServer:
    """Answers the n-th request with the n-th reply (the last one repeats); records requests and peers."""

    replies: list[Reply]
    requests: list[bytes] = field(default_factory=list)
    peers: list[object] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                self.requests.append(head + await reader.readexactly(length))
                self.peers.append(writer.get_extra_info("peername"))
                reply = self.replies[min(len(self.requests), len(self.replies)) - 1]
                if reply is None:
                    continue
                if callable(reply):
                    reply(writer)
                    return
                for piece in reply:
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.01)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def raw_server(*replies: Reply, tls: ssl.SSLContext | None = None) -> AsyncIterator[RawServer]:
    server = RawServer(list(replies))
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=tls)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()


@contextlib.asynccontextmanager
async def pool_for(
    target: int | str, max_connections: int = 4, idle_timeout_s: float = IDLE_TIMEOUT_S
) -> AsyncIterator[ConnectionPool]:
    """A pool for a loopback port's `/v2`, or for a base URL."""
    url = f"http://127.0.0.1:{target}/v2" if isinstance(target, int) else target
    pool = ConnectionPool(
        Origin.from_url(url), max_connections=max_connections, idle_timeout_s=idle_timeout_s
    )
    try:
        yield pool
    finally:
        await pool.close()


async def exchange(pool: ConnectionPool, request: bytes = GET) -> tuple[int, Mapping[str, str], bytes]:
    connection = pool.take_idle() or await pool.connect(1.0)
    response = await connection.exchange(request)
    return response.status, response.headers, response.body


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ok(body: bytes = b'{"data":1}', *extra: str) -> bytes:
    fields = "".join(f"{line}\r\n" for line in extra)
    return b"HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n\r\n%s" % (fields.encode(), len(body), body)


# --- framing -----------------------------------------------------------------------------------------------


async def test_a_response_split_anywhere_is_read_whole() -> None:
    response = ok(b'{"data":{"id":"abc"}}', "Content-Type: application/json", "X-Request-Id: r1")
    async with (
        raw_server([response[:7], response[7:30], response[30:-3], response[-3:]]) as server,
        pool_for(server.port) as pool,
    ):
        status, headers, body = await exchange(pool)
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert headers["X-Request-Id"] == "r1"
    assert body == b'{"data":{"id":"abc"}}'


async def test_chunked_bodies_are_joined_and_trailers_skipped() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5;ext=1\r\n{"dat\r\n'
        b'4\r\na":1\r\n'
        b"1\r\n}\r\n"
        b"0\r\nX-Trailer: t\r\n\r\n"
    )
    async with (
        raw_server([chunked[:50], chunked[50:61], chunked[61:]], [ok()]) as server,
        pool_for(server.port) as pool,
    ):
        first = await exchange(pool)
        second = await exchange(pool)
    assert first[2] == b'{"data":1}'
    assert second[2] == b'{"data":1}'
    assert len(set(server.peers)) == 1  # the chunked response ended where it said: the connection was reused


async def test_a_body_without_length_ends_with_the_connection() -> None:
    def until_close(writer: asyncio.StreamWriter) -> None:
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"data":')
        writer.write(b"2}")

    async with raw_server(until_close) as server, pool_for(server.port) as pool:
        status, _, body = await exchange(pool)
        await asyncio.sleep(0.01)
        assert pool.open_connections == 0
    assert (status, body) == (200, b'{"data":2}')


async def test_interim_responses_are_skipped() -> None:
    async with (
        raw_server(
            [b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n" + ok()]
        ) as server,
        pool_for(server.port) as pool,
    ):
        assert (await exchange(pool))[0] == 200


@pytest.mark.parametrize("status", [204, 304])
async def test_statuses_without_a_body_read_none(status: int) -> None:
    async with (
        raw_server([b"HTTP/1.1 %d X\r\n\r\n" % status], [ok()]) as server,
        pool_for(server.port) as pool,
    ):
        assert (await exchange(pool))[::2] == (status, b"")
        assert (await exchange(pool))[0] == 200
    assert len(set(server.peers)) == 1


async def test_a_head_request_reads_no_body_despite_its_length() -> None:
    async with (
        raw_server([b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"], [ok()]) as server,
        pool_for(server.port) as pool,
    ):
        assert (await exchange(pool, b"HEAD /v2 HTTP/1.1\r\nHost: x\r\n\r\n"))[::2] == (200, b"")
        assert (await exchange(pool))[2] == b'{"data":1}'


async def test_field_values_keep_what_is_inside_them_and_lose_the_blanks_around() -> None:
    response = ok(
        b"{}", "X-Empty:", "X-Colons: a:b: c", "X-Blanks: \t a  \t b \t", "Keep-Alive: timeout=\xb2"
    )
    async with raw_server([response.replace(b"200 OK", b"200")]) as server, pool_for(server.port) as pool:
        status, headers, _ = await exchange(pool)
    assert status == 200
    assert (headers["X-Empty"], headers["X-Colons"], headers["X-Blanks"]) == ("", "a:b: c", "a  \t b")


async def test_a_repeated_content_length_that_agrees_is_read() -> None:
    response = b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\n{}"
    async with raw_server([response]) as server, pool_for(server.port) as pool:
        assert (await exchange(pool))[2] == b"{}"


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw, as some servers send
    ],
    ids=["gzip", "deflate", "raw-deflate"],
)
async def test_a_coded_body_is_decoded(coding: str, encode: Callable[[bytes], bytes]) -> None:
    document = b'{"data":[' + b'{"id":"x"},' * 200 + b"{}]}"
    async with (
        raw_server([ok(encode(document), f"Content-Encoding: {coding}")]) as server,
        pool_for(server.port) as pool,
    ):
        assert (await exchange(pool))[2] == document


async def test_a_coded_body_that_ends_with_the_connection_is_decoded() -> None:
    def until_close(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n" + gzip.compress(b'{"data":3}'))

    async with raw_server(until_close) as server, pool_for(server.port) as pool:
        assert (await exchange(pool))[2] == b'{"data":3}'


@pytest.mark.parametrize(
    "response", [b"HTTP/1.1 204 No Content\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"]
)
async def test_an_empty_body_with_a_coding_is_empty(response: bytes) -> None:
    async with (
        raw_server([response + b"Content-Encoding: gzip\r\n\r\n"]) as server,
        pool_for(server.port) as pool,
    ):
        assert (await exchange(pool))[2] == b""


@pytest.mark.parametrize(
    ("coding", "body", "reason"),
    [
        ("br", b"x", "unsupported content coding 'br'"),
        ("gzip", b"not gzip", "not valid gzip"),
        ("gzip", gzip.compress(b"{}")[:-4], "not valid gzip"),
    ],
)
async def test_a_body_that_cannot_be_decoded_fails_the_exchange(
    coding: str, body: bytes, reason: str
) -> None:
    async with (
        raw_server([ok(body, f"Content-Encoding: {coding}")]) as server,
        pool_for(server.port) as pool,
    ):
        with pytest.raises(MalformedResponse, match=reason):
            await exchange(pool)


# --- keep-alive --------------------------------------------------------------------------------------------


async def test_keep_alive_reuses_one_connection() -> None:
    async with raw_server([ok()]) as server, pool_for(server.port) as pool:
        for _ in range(3):
            await exchange(pool)
        assert pool.open_connections == 1
    assert len(set(server.peers)) == 1


@pytest.mark.parametrize(
    "response",
    [
        ok(b"{}", "Connection: close"),
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    ],
    ids=["connection-close", "http-1.0", "two-framings"],
)
async def test_a_connection_the_response_does_not_keep_is_not_reused(response: bytes) -> None:
    async with raw_server([response]) as server, pool_for(server.port) as pool:
        assert (await exchange(pool))[2] == b"{}"
        assert (await exchange(pool))[2] == b"{}"
    assert len(set(server.peers)) == 2


async def test_a_connection_idle_too_long_is_replaced() -> None:
    async with raw_server([ok()]) as server, pool_for(server.port, idle_timeout_s=0.05) as pool:
        await exchange(pool)
        await asyncio.sleep(0.1)
        await exchange(pool)
        assert pool.open_connections == 1
    assert len(set(server.peers)) == 2


async def test_a_connection_the_server_says_it_keeps_briefly_is_not_reused_after() -> None:
    async with (
        raw_server([ok(b"{}", "Keep-Alive: timeout=1, max=100")]) as server,
        pool_for(server.port) as pool,
    ):
        await exchange(pool)
        await asyncio.sleep(0.01)  # past the server's second, less the margin
        await exchange(pool)
    assert len(set(server.peers)) == 2


async def test_a_connection_whose_close_has_been_read_is_not_handed_out() -> None:
    async with raw_server([ok()]) as server, pool_for(server.port) as pool:
        connection = await pool.connect(1.0)
        await connection.exchange(GET)
        connection._transport.close()  # type: ignore[union-attr]  # what reading the server's close does
        assert pool.take_idle() is None
        assert (await exchange(pool))[0] == 200


async def test_a_connection_the_server_closed_while_idle_leaves_the_pool() -> None:
    def answer_and_close(writer: asyncio.StreamWriter) -> None:
        writer.write(ok())

    async with raw_server(answer_and_close) as server, pool_for(server.port) as pool:
        await exchange(pool)
        await asyncio.sleep(0.05)
        assert pool.open_connections == 0
        assert pool.take_idle() is None
        assert (await exchange(pool))[0] == 200


async def test_bytes_nobody_asked_for_close_the_connection() -> None:
    async with raw_server([ok() + b"HTTP/1.1 200 OK\r\n"]) as server, pool_for(server.port) as pool:
        await exchange(pool)
        assert pool.open_connections == 0  # the extra bytes came with the response: not reusable


# --- failures ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (b"SPDY/3 200 OK\r\n\r\n", "not an HTTP/1.x status line"),
        (b"HTTP/1.1 2000 OK\r\n\r\n", "not an HTTP/1.x status line"),
        (b"HTTP/1.1 200 OK\r\nNo-Colon\r\n\r\n", "malformed header line"),
        (b"HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n", "malformed header line"),
        (b"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", "malformed header line"),
        (b"HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n", "malformed header line: 'X: a"),
        (b"HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 0\r\n\r\n", "malformed header line: 'X: a"),
        (b"HTTP/1.1 2\xb20 OK\r\n\r\n", "not an HTTP/1.x status line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\n", "invalid Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "unsupported transfer coding"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\n{}", "invalid Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "invalid chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}xx", "chunk not followed by CRLF"),
        (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "switched protocols"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"a" * MAX_HEAD_BYTES, "response head larger than"),
    ],
)
async def test_an_unreadable_response_fails_the_exchange_and_the_connection(
    response: bytes, reason: str
) -> None:
    async with raw_server([response], [ok()]) as server, pool_for(server.port) as pool:
        with pytest.raises(MalformedResponse, match=reason):
            await exchange(pool)
        assert pool.open_connections == 0
        assert (await exchange(pool))[0] == 200  # a new connection


async def test_a_connection_dropped_before_the_response_ends_fails_the_exchange() -> None:
    def half(writer: asyncio.StreamWriter) -> None:
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{"d')

    async with raw_server(half) as server, pool_for(server.port) as pool:
        with pytest.raises(ConnectionDropped, match="in the middle of the response"):
            await exchange(pool)


async def test_a_refused_connection_is_a_connect_failure() -> None:
    port = closed_port()
    async with pool_for(port) as pool:
        with pytest.raises(
            ConnectFailed, match=f"cannot connect to 127.0.0.1:{port}: ConnectionRefusedError"
        ):
            await pool.connect(1.0)
        assert pool.open_connections == 0


@dataclass
class Busy:
    """A pool of one connection, a request on it the server leaves unanswered, and one waiting."""

    pool: ConnectionPool
    connection: Connection
    first: asyncio.Task[Response]
    waiting: asyncio.Task[tuple[int, Mapping[str, str], bytes]]


@contextlib.asynccontextmanager
async def busy(server: RawServer) -> AsyncIterator[Busy]:
    async with pool_for(server.port, max_connections=1) as pool:
        connection = await pool.connect(1.0)
        first = asyncio.create_task(connection.exchange(GET))
        waiting = asyncio.create_task(exchange(pool))
        await asyncio.sleep(0.05)
        yield Busy(pool, connection, first, waiting)


async def test_cancelled_just_as_its_response_came_an_exchange_leaves_the_connection_to_the_next() -> None:
    # The first request's answer arrives in the very callback that cancels it (a caller giving up, or the
    # attempt's time limit, at the same moment): the connection is the pool's again and serves the second.
    async with raw_server(None, [ok(b'{"data":"second"}')]) as server, busy(server) as pool:
        pool.connection.data_received(ok(b'{"data":"first"}'))
        pool.first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pool.first
        assert (await pool.waiting)[2] == b'{"data":"second"}'
        assert not pool.connection.closed


async def test_cancelling_an_exchange_closes_its_connection() -> None:
    async with raw_server(None) as server, pool_for(server.port) as pool:
        connection = await pool.connect(1.0)
        task = asyncio.create_task(connection.exchange(GET))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert connection.closed
        assert pool.open_connections == 0
        assert pool.take_idle() is None


# --- the connection limit ----------------------------------------------------------------------------------


async def test_at_the_limit_a_request_waits_for_a_connection_to_come_free() -> None:
    slow = [ok()[:10], ok()[10:]]
    async with raw_server(slow) as server, pool_for(server.port, max_connections=2) as pool:
        results = await asyncio.gather(*(exchange(pool) for _ in range(6)))
        assert pool.open_connections == 2
    assert [status for status, _, _ in results] == [200] * 6
    assert len(set(server.peers)) == 2


async def test_a_connection_that_comes_free_goes_to_the_request_waiting_for_it() -> None:
    # The waiting request was told the connection is free; one arriving before it runs does not take it.
    async with raw_server(None, [ok(b'{"data":"waited"}')]) as server, busy(server) as pool:
        pool.connection.data_received(ok())
        assert pool.pool.take_idle() is None
        assert (await pool.first).status == 200
        assert (await pool.waiting)[2] == b'{"data":"waited"}'


async def test_waiting_for_a_connection_is_bounded_by_the_connect_limit() -> None:
    async with raw_server(None) as server, pool_for(server.port, max_connections=1) as pool:
        taken = await pool.connect(1.0)
        hanging = asyncio.create_task(taken.exchange(GET))
        with pytest.raises(ConnectTimeout, match=r"connect timeout after 0\.05s"):
            await pool.connect(0.05)
        hanging.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await hanging
        # The taken connection was closed by its cancelled exchange: its slot is free again.
        server.replies.append([ok()])  # the next request (on a new connection) is answered
        assert (await exchange(pool))[0] == 200


async def test_closing_the_pool_fails_exchanges_and_waiters() -> None:
    async with raw_server(None) as server, busy(server) as pool:
        await pool.pool.close()
        with pytest.raises(ConnectionDropped, match="connection pool closed"):
            await pool.first
        with pytest.raises(ConnectFailed, match="connection pool closed"):
            await pool.waiting
        with pytest.raises(ConnectFailed, match="connection pool closed"):
            await pool.pool.connect(1.0)


async def test_an_address_that_does_not_answer_is_passed_over_for_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The first address takes connections nowhere (a listener whose backlog is full, as a broken route
    # does): the second is tried after 0.25 s, well within the connect limit.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(0)
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(silent.getsockname())
        fillers.append(filler)
    resolved: list[str] = []
    async with raw_server([ok()]) as server:
        addresses = [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", silent.getsockname()),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", server.port)),
        ]

        async def getaddrinfo(host: str, *_args: object, **_kwargs: object) -> list[object]:
            resolved.append(host)
            return list(addresses)

        monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
        pool = ConnectionPool(Origin.from_url("http://api.telnyx.test:1/v2"), max_connections=2)
        try:
            first, second = await asyncio.gather(pool.connect(2.0), pool.connect(2.0))
            assert first is not second
            assert (await first.exchange(GET)).status == 200
        finally:
            await pool.close()
            for sock in (silent, *fillers):
                sock.close()
    assert resolved == ["api.telnyx.test"]  # resolved once for both connections


async def test_the_addresses_are_resolved_again_after_a_failure_to_connect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refused = closed_port()
    async with raw_server([ok()]) as server:
        answers = [[("127.0.0.1", refused)], [("127.0.0.1", server.port)]]

        async def getaddrinfo(*_args: object, **_kwargs: object) -> list[object]:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", answers.pop(0)[0])]

        monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
        async with pool_for("http://api.telnyx.test/v2", max_connections=1) as pool:
            with pytest.raises(ConnectFailed, match="ConnectionRefusedError"):
                await pool.connect(1.0)
            assert (await (await pool.connect(1.0)).exchange(GET)).status == 200


# --- TLS ---------------------------------------------------------------------------------------------------


@pytest.fixture
def tls_server_context(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context, cert


async def test_https_verifies_the_server_against_the_trusted_authorities(
    tls_server_context: tuple[ssl.SSLContext, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    context, cert = tls_server_context
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the system's trust store, as OpenSSL reads it
    async with (
        raw_server([ok()], tls=context) as server,
        pool_for(f"https://localhost:{server.port}/v2", max_connections=1) as pool,
    ):
        assert [(await exchange(pool))[0] for _ in range(2)] == [200, 200]
        assert pool.open_connections == 1


async def test_https_to_an_untrusted_server_is_a_connect_failure(
    tls_server_context: tuple[ssl.SSLContext, Path],
) -> None:
    context, _ = tls_server_context
    async with (
        raw_server([ok()], tls=context) as server,
        pool_for(f"https://localhost:{server.port}/v2", max_connections=1) as pool,
    ):
        with pytest.raises(ConnectFailed, match="SSLCertVerificationError"):
            await pool.connect(2.0)
    assert server.requests == []


# --- the origin --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.telnyx.com/v2", (True, "api.telnyx.com", 443, "api.telnyx.com", "/v2")),
        ("http://127.0.0.1:8080/v2/", (False, "127.0.0.1", 8080, "127.0.0.1:8080", "/v2")),
        ("http://[::1]:81", (False, "::1", 81, "[::1]:81", "")),
        ("https://h:443/a%20b", (True, "h", 443, "h", "/a%20b")),
    ],
)
def test_origin_of_a_base_url(url: str, expected: tuple[object, ...]) -> None:
    origin = Origin.from_url(url)
    assert (origin.tls, origin.host, origin.port, origin.host_header, origin.path) == expected


@pytest.mark.parametrize(
    "url", ["ftp://h/", "http:///v2", "http://u:p@h/v2", "http://h/v2?x=1", "http://h/a b", "h/v2"]
)
def test_unusable_base_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="base URL"):
        Origin.from_url(url)


@pytest.mark.skipif(importlib.util.find_spec("uvloop") is None, reason="uvloop is not installed")
def test_the_pool_works_on_uvloop() -> None:
    import uvloop

    async def main() -> list[int]:
        async with raw_server([ok()]) as server, pool_for(server.port) as pool:
            return [(await exchange(pool))[0] for _ in range(3)]

    assert uvloop.run(main()) == [200, 200, 200]
