"""The HTTP port's own HTTP/1.1 server, driven with exact bytes over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.stack import eventually
from voicesvc.server import httpd
from voicesvc.server.httpd import MAX_HEAD_BYTES, HttpRequest, HttpResponse, HttpServer, Route, json_response
from voicesvc.server.metrics import Metrics

BIG = 12 * 1024 * 1024
"""The size of `/big`'s answer: more than the sockets buffer for a client that does not read (whose receive
buffer `small_window` keeps small)."""


@dataclass
class App:
    """Routes that say what they received; `/slow` waits for `release`."""

    received: list[HttpRequest] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def echo(self, request: HttpRequest) -> HttpResponse:
        self.received.append(request)
        return json_response(
            {"method": request.method, "query": request.query, "body": request.body.decode()}
        )

    async def slow(self, request: HttpRequest) -> HttpResponse:
        self.received.append(request)
        await self.release.wait()
        return json_response({"slow": request.body.decode()})

    async def fail(self, request: HttpRequest) -> HttpResponse:
        raise RuntimeError("boom")

    async def big(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(200, b"x" * BIG, "text/plain")

    async def sink(self, request: HttpRequest) -> HttpResponse:
        return json_response({"received": len(request.body)})

    def routes(self) -> dict[str, dict[str, Route]]:
        return {
            "/echo": {"GET": Route(self.echo), "POST": Route(self.echo, max_body_bytes=64)},
            "/slow": {"POST": Route(self.slow)},
            "/fail": {"GET": Route(self.fail)},
            "/big": {"GET": Route(self.big)},
            "/sink": {"POST": Route(self.sink, max_body_bytes=2 * BIG)},
        }


@dataclass
class Served:
    app: App
    server: HttpServer
    metrics: Metrics

    async def connect(self, small_window: bool = False) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if not small_window:
            return await asyncio.open_connection("127.0.0.1", self.server.port)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # no autotuning up to megabytes
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", self.server.port))
        return await asyncio.open_connection(sock=sock)

    def closed_count(self, reason: str) -> float:
        for family in text_string_to_metric_families(self.metrics.render().decode()):
            for sample in family.samples:
                if sample.name == "voicesvc_http_connections_closed_total" and sample.labels == {
                    "reason": reason
                }:
                    return sample.value
        return 0.0


@asynccontextmanager
async def serve(**limits: float) -> AsyncIterator[Served]:
    app = App()
    metrics = Metrics()
    server = HttpServer(
        app.routes(),
        metrics,
        header_timeout_s=limits.get("header_timeout_s", 10.0),
        body_timeout_s=limits.get("body_timeout_s", 10.0),
        max_connections=int(limits.get("max_connections", 100)),
    )
    await server.start("127.0.0.1", 0)
    try:
        yield Served(app, server, metrics)
    finally:
        app.release.set()
        await server.close(1.0)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


async def read_answer(reader: asyncio.StreamReader, head_only: bool = False) -> Answer:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
    version, code, _ = status_line.split(" ", 2)
    assert version == "HTTP/1.1"
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        assert name.lower() not in headers, f"{name} twice"
        headers[name.lower()] = value.strip()
    body = b"" if head_only else await reader.readexactly(int(headers["content-length"]))
    return Answer(int(code), headers, body)


async def exchange(served: Served, request: bytes, *, answers: int = 1) -> tuple[list[Answer], bool]:
    """Write `request`, read `answers` answers; also whether the server then closed the connection."""
    reader, writer = await served.connect()
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(10):
            got = [await read_answer(reader) for _ in range(answers)]
        try:
            closed = await asyncio.wait_for(reader.read(1), 0.2) == b""
        except TimeoutError:
            closed = False
        return got, closed
    finally:
        writer.close()


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """What is left to read once the server closed the connection (a reset: it dropped it)."""
    try:
        return await reader.read()
    except ConnectionResetError:
        return b""


def post(path: str, body: bytes, *extra: bytes) -> bytes:
    fields = b"".join(line + b"\r\n" for line in extra)
    return b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n%s\r\n%s" % (
        path.encode(),
        len(body),
        fields,
        body,
    )


async def test_a_route_answers_json_and_the_connection_stays_open() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        try:
            for query in ("a=1", "b=2"):
                writer.write(f"GET /echo?{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                answer = await read_answer(reader)
                assert answer.status == 200
                assert answer.headers["content-type"] == "application/json; charset=utf-8"
                assert answer.headers["date"].endswith(" GMT")
                assert "connection" not in answer.headers
                assert answer.json() == {"method": "GET", "query": query, "body": ""}
        finally:
            writer.close()
        assert served.server.open_connections <= 1


async def test_head_on_a_get_route_sends_the_head_only() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        try:
            writer.write(b"HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\nGET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await read_answer(reader, head_only=True)
            full = await read_answer(reader)
        finally:
            writer.close()
        assert head.status == 200
        assert full.json() == {"method": "GET", "query": "", "body": ""}
        # The length of the body the handler answered (it saw the method HEAD), without the body.
        assert int(head.headers["content-length"]) == len(b'{"method": "HEAD", "query": "", "body": ""}')


async def test_bodies_framed_by_length_or_chunks_reach_the_handler_whole() -> None:
    async with serve() as served:
        (answer,), _ = await exchange(served, post("/echo", b'{"a": 1}'))
        assert answer.json() == {"method": "POST", "query": "", "body": '{"a": 1}'}
        chunked = (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n"
        )
        (answer,), closed = await exchange(served, chunked)
        assert answer.json() == {"method": "POST", "query": "", "body": "abcde"}
        assert not closed


async def test_pipelined_requests_are_answered_in_order() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        try:
            writer.write(post("/slow", b"first") + post("/echo", b"second") + post("/echo", b"third"))
            await eventually(lambda: served.app.received, limit=10)
            await asyncio.sleep(0.1)
            # The first one holds the others back: they are read, not answered.
            assert [r.body for r in served.app.received] == [b"first"]
            served.app.release.set()
            answers = [await read_answer(reader) for _ in range(3)]
        finally:
            writer.close()
        assert [a.json() for a in answers] == [
            {"slow": "first"},
            {"method": "POST", "query": "", "body": "second"},
            {"method": "POST", "query": "", "body": "third"},
        ]


async def test_request_bytes_arriving_one_at_a_time_make_one_request() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        try:
            for byte in post("/echo", b"xyz"):
                writer.write(bytes([byte]))
                await writer.drain()
            answer = await read_answer(reader)
        finally:
            writer.close()
        assert answer.json() == {"method": "POST", "query": "", "body": "xyz"}


async def test_unknown_paths_are_404_and_other_methods_405_with_allow() -> None:
    async with serve() as served:
        (answer,), closed = await exchange(served, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (answer.status, answer.json(), closed) == (
            404,
            {"error": {"reason": "not_found", "message": "no route for '/nope'"}},
            False,
        )
        (answer,), closed = await exchange(served, b"DELETE /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (answer.status, answer.headers["allow"], closed) == (405, "GET, HEAD, POST", False)
        assert answer.json() == {
            "error": {"reason": "method_not_allowed", "message": "DELETE is not allowed here"}
        }
        # With a body it does not read, the server cannot find the next request: it closes.
        (answer,), closed = await exchange(served, post("/nope", b"abc"))
        assert (answer.status, answer.headers["connection"], closed) == (404, "close", True)


CHUNKED_HEAD = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
BAD_HEADS = [
    (b"GET /echo HTTP/1.1\nHost: x\r\n\r\n", 400, "does not end in CRLF"),
    (b"GET /echo HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", 400, "does not end in CRLF"),
    (b"GET /echo HTTP/1.1\r\n\r\n", 400, "exactly one Host"),
    (b"GET /echo HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, "exactly one Host"),
    (b"GET  /echo HTTP/1.1\r\nHost: x\r\n\r\n", 400, "not an HTTP request line"),
    (b"GET /echo\r\nHost: x\r\n\r\n", 400, "not an HTTP request line"),
    (b"G(T /echo HTTP/1.1\r\nHost: x\r\n\r\n", 400, "invalid method"),
    (b"GET echo HTTP/1.1\r\nHost: x\r\n\r\n", 400, "invalid request target"),
    (b"GET /echo HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n", 400, "malformed header line"),
    (b"GET /echo HTTP/1.1\r\nHost: x\r\n folded: y\r\n\r\n", 400, "malformed header line"),
    (b"GET /echo HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", 400, "malformed header line"),
    (b"GET /echo HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", 400, "control character"),
    (b"GET /echo HTTP/1.1\r\nHost: x\r\nX: a\x1bb\r\n\r\n", 400, "control character"),
    (b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n".replace(b"\r\n", b"\n"), 400, "does not end in CRLF"),
    (b"GET /echo HTTP/1.1\r\nHost: x\r\n" + b"X: y\r\n" * 128 + b"\r\n", 431, "more than 128 header fields"),
    (
        b"GET /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + b"1" * 5000 + b"\r\n\r\n",
        413,
        "beyond any body",
    ),
    (b"GET /%ff HTTP/1.1\r\nHost: x\r\n\r\n", 400, "can't decode"),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 3\r\n\r\nab", 400, "invalid Content-Length"),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "invalid Content-Length"),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \xb2\r\n\r\n", 400, "invalid Content-Length"),
    (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
        "both by Content-Length and chunked",
    ),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400, "transfer coding"),
    (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
        "transfer coding",
    ),
    (b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "HTTP/1.0"),
    (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        400,
        "invalid chunk size",
    ),
    (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
        400,
        "chunk not followed by CRLF",
    ),
    (
        CHUNKED_HEAD + b"0\r\n\nGET / HTTP/1.1\r\n\r\n",
        400,
        "trailer line does not end in CRLF",
    ),
    (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer: x\r\n\r\n",
        400,
        "malformed header line",
    ),
    (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n 3\r\nabc\r\n",
        400,
        "invalid chunk size",
    ),
    (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a\nb\r\nabc\r\n",
        400,
        "invalid chunk size",
    ),
    (b"GET /echo HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP/2.0 is not served"),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n", 417, "unsupported expectation"),
]


@pytest.mark.parametrize(("request_bytes", "status", "message"), BAD_HEADS)
async def test_malformed_requests_are_refused_and_the_connection_closed(
    request_bytes: bytes, status: int, message: str
) -> None:
    async with serve() as served:
        (answer,), closed = await exchange(served, request_bytes)
        assert answer.status == status
        error = answer.json()
        assert isinstance(error, dict)
        assert message in error["error"]["message"]
        assert (answer.headers["connection"], closed) == ("close", True)
        assert served.app.received == []


async def test_lengths_with_leading_zeros_are_lengths() -> None:
    async with serve() as served:
        zeros = b"0" * 40
        (answer,), _ = await exchange(
            served, post("/echo", b"abc").replace(b"Length: 3", b"Length: " + zeros + b"3")
        )
        assert answer.json() == {"method": "POST", "query": "", "body": "abc"}
        chunked = CHUNKED_HEAD + zeros + b"3\r\nabc\r\n0\r\n\r\n"
        (answer,), _ = await exchange(served, chunked)
        assert answer.json() == {"method": "POST", "query": "", "body": "abc"}


async def test_a_head_beyond_the_limit_is_431() -> None:
    async with serve() as served:
        huge = b"GET /echo HTTP/1.1\r\nHost: x\r\nX: " + b"a" * MAX_HEAD_BYTES + b"\r\n\r\n"
        (answer,), closed = await exchange(served, huge)
        assert (answer.status, closed) == (431, True)
        # Without its end, too: the server does not wait for more.
        (answer,), closed = await exchange(served, huge[:-4])
        assert (answer.status, closed) == (431, True)


async def test_a_body_beyond_the_route_limit_is_refused_before_it_is_sent() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        try:
            writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 65\r\n\r\n")
            answer = await asyncio.wait_for(read_answer(reader), 10)
            assert await asyncio.wait_for(reader.read(), 10) == b""
        finally:
            writer.close()
        assert (answer.status, answer.json()) == (
            413,
            {"error": {"reason": "body_too_large", "message": "body exceeds 64 bytes"}},
        )
        chunked = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n" + b"a" * 65
        (answer,), closed = await exchange(served, chunked)
        assert (answer.status, closed) == (413, True)
        (answer,), _ = await exchange(served, post("/echo", b"a" * 64))
        assert answer.status == 200
        assert served.app.received[0].body == b"a" * 64


async def test_expect_100_continue_is_answered_before_the_body() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        try:
            writer.write(
                b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"
            )
            interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
            writer.write(b"abc")
            answer = await asyncio.wait_for(read_answer(reader), 10)
        finally:
            writer.close()
        assert answer.json() == {"method": "POST", "query": "", "body": "abc"}


async def test_http_1_0_closes_unless_kept_alive_and_connection_close_is_honoured() -> None:
    async with serve() as served:
        (answer,), closed = await exchange(served, b"GET /echo HTTP/1.0\r\n\r\n")
        assert (answer.status, answer.headers["connection"], closed) == (200, "close", True)
        (answer,), closed = await exchange(served, b"GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        assert (answer.headers["connection"], closed) == ("keep-alive", False)
        (answer,), closed = await exchange(
            served, b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert (answer.headers["connection"], closed) == ("close", True)


async def test_empty_lines_before_a_request_and_the_absolute_form_are_accepted() -> None:
    async with serve() as served:
        (answer,), _ = await exchange(served, b"\r\n\r\nGET http://x/echo?q=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answer.json() == {"method": "GET", "query": "q=1", "body": ""}


async def test_a_failing_handler_is_answered_500_and_the_connection_goes_on() -> None:
    async with serve() as served:
        answers, closed = await exchange(
            served, b"GET /fail HTTP/1.1\r\nHost: x\r\n\r\nGET /echo HTTP/1.1\r\nHost: x\r\n\r\n", answers=2
        )
        assert [a.status for a in answers] == [500, 200]
        assert answers[0].json() == {
            "error": {"reason": "internal", "message": "the request could not be handled"}
        }
        assert not closed


async def test_requests_of_a_client_that_half_closed_are_all_answered() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        try:
            writer.write(post("/slow", b"late") + post("/echo", b"then") + post("/echo", b"last"))
            writer.write_eof()
            await asyncio.sleep(0.1)
            served.app.release.set()
            async with asyncio.timeout(10):
                answers = [await read_answer(reader) for _ in range(3)]
                assert await reader.read() == b""
        finally:
            writer.close()
        assert [a.json() for a in answers] == [
            {"slow": "late"},
            {"method": "POST", "query": "", "body": "then"},
            {"method": "POST", "query": "", "body": "last"},
        ]
        await eventually(lambda: served.server.open_connections == 0, limit=10)


async def test_a_client_that_half_closes_in_the_middle_of_a_body_is_closed() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        try:
            writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
            writer.write_eof()
            assert await asyncio.wait_for(reader.read(), 10) == b""
        finally:
            writer.close()
        assert served.app.received == []
        await eventually(lambda: served.server.open_connections == 0, limit=10)


async def test_a_body_that_does_not_arrive_in_time_is_408() -> None:
    async with serve(body_timeout_s=0.2) as served:
        reader, writer = await served.connect()
        try:
            writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
            answer = await asyncio.wait_for(read_answer(reader), 10)
            assert await asyncio.wait_for(reader.read(), 10) == b""
        finally:
            writer.close()
        assert (answer.status, answer.json()) == (
            408,
            {"error": {"reason": "body_timeout", "message": "the request body did not arrive within 0.2s"}},
        )
        assert served.closed_count("body_timeout") == 1
        assert served.app.received == []


async def test_idle_and_half_sent_connections_are_closed_after_the_header_timeout() -> None:
    async with serve(header_timeout_s=0.2) as served:
        idle = await served.connect()
        partial = await served.connect()
        try:
            partial[1].write(b"POST /echo HTTP/1.1\r\nHost: x\r\n")
            async with asyncio.timeout(10):
                assert await closed_by_server(idle[0]) == b""
                assert await closed_by_server(partial[0]) == b""
        finally:
            idle[1].close()
            partial[1].close()
        assert served.closed_count("header_timeout") == 2
        assert served.server.open_connections == 0


async def test_a_long_request_is_not_cut_by_the_header_timeout() -> None:
    async with serve(header_timeout_s=0.2) as served:
        reader, writer = await served.connect()
        try:
            writer.write(post("/slow", b"long"))
            await asyncio.sleep(0.5)
            served.app.release.set()
            answer = await asyncio.wait_for(read_answer(reader), 10)
        finally:
            writer.close()
        assert answer.json() == {"slow": "long"}


async def test_at_the_limit_the_longest_idle_connection_makes_room() -> None:
    async with serve(max_connections=2) as served:
        oldest = await served.connect()
        busy = await served.connect()
        busy[1].write(post("/slow", b"held"))
        await eventually(lambda: len(served.app.received) == 1, limit=10)
        (answer,), _ = await exchange(served, b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answer.status == 200
        async with asyncio.timeout(10):
            assert await closed_by_server(oldest[0]) == b""
        assert served.closed_count("evicted") == 1
        # Both left are inside a request: the next one is refused.
        held_too = await served.connect()
        held_too[1].write(post("/slow", b"also held"))
        await eventually(lambda: len(served.app.received) == 2, limit=10)
        (refused_reader, refused_writer) = await served.connect()
        async with asyncio.timeout(10):
            assert (await refused_reader.read()).startswith(b"HTTP/1.1 503 ")
        assert served.closed_count("refused") == 1
        served.app.release.set()
        for reader, writer in (busy, held_too):
            assert (await asyncio.wait_for(read_answer(reader), 10)).status == 200
            writer.close()
        for _, writer in (oldest, (refused_reader, refused_writer)):
            writer.close()


async def test_shutdown_answers_requests_in_progress_and_closes_idle_connections() -> None:
    async with serve() as served:
        idle = await served.connect()
        busy = await served.connect()
        busy[1].write(post("/slow", b"draining"))
        await eventually(lambda: served.app.received, limit=10)
        closing = asyncio.create_task(served.server.close(5.0))
        async with asyncio.timeout(10):
            assert await idle[0].read() == b""
            await asyncio.sleep(0.1)
            assert not closing.done()
            served.app.release.set()
            answer = await read_answer(busy[0])
            await closing
        assert (answer.json(), answer.headers["connection"]) == ({"slow": "draining"}, "close")
        for _, writer in (idle, busy):
            writer.close()


async def test_shutdown_cuts_requests_beyond_the_grace_period() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        writer.write(post("/slow", b"stuck"))
        await eventually(lambda: served.app.received, limit=10)
        async with asyncio.timeout(10):
            await served.server.close(0.2)
            assert await closed_by_server(reader) == b""
        writer.close()


async def test_requests_after_an_answer_of_the_server_s_own_are_answered_too() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        try:
            writer.write(
                b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\nHEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            async with asyncio.timeout(10):
                first = await read_answer(reader)
                # HEAD gets no body, not even the server's own refusal's.
                second = await read_answer(reader, head_only=True)
                third = await read_answer(reader)
        finally:
            writer.close()
        assert [first.status, second.status, third.status] == [404, 404, 200]
        assert third.json() == {"method": "GET", "query": "", "body": ""}


async def test_a_bad_length_behind_a_good_request_ends_the_connection() -> None:
    async with serve(header_timeout_s=0.5) as served:
        huge = b"GET /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + b"1" * 5000 + b"\r\n\r\n"
        answers, closed = await exchange(served, b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n" + huge, answers=2)
        assert ([a.status for a in answers], closed) == ([200, 413], True)
        # Nothing keeps its slot: it is gone once the client is.
        await eventually(lambda: served.server.open_connections == 0, limit=10)


async def test_a_refusal_reaches_a_client_that_sends_its_whole_body_before_reading() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        try:
            body = b"a" * (512 * 1024)
            writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            await asyncio.wait_for(writer.drain(), 10)
            answer = await asyncio.wait_for(read_answer(reader), 10)
            assert await asyncio.wait_for(reader.read(), 10) == b""
        finally:
            writer.close()
        assert (answer.status, answer.headers["connection"]) == (413, "close")


async def test_a_client_that_does_not_read_its_last_answer_is_cut_off_after_the_header_timeout() -> None:
    async with serve(header_timeout_s=0.3) as served:
        reader, writer = await served.connect(small_window=True)
        try:
            writer.write(b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            async with asyncio.timeout(10):
                # The answer has begun; the rest of it (more than the sockets buffer) is never read.
                assert await reader.readuntil(b"\r\n") == b"HTTP/1.1 200 OK\r\n"
            await eventually(lambda: served.server.open_connections == 0, limit=10)
        finally:
            writer.close()
        assert served.closed_count("header_timeout") == 1


async def test_reading_goes_on_once_a_slow_reader_catches_up() -> None:
    async with serve(body_timeout_s=3) as served:
        reader, writer = await served.connect(small_window=True)
        try:
            body = b"b" * (900 * 1024)
            writer.write(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            writer.write(b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            await asyncio.sleep(0.5)  # not reading: the server stops reading too
            async with asyncio.timeout(10):
                big = await read_answer(reader)
                sink = await read_answer(reader)
        finally:
            writer.close()
        assert (big.status, len(big.body)) == (200, BIG)
        assert sink.json() == {"received": len(body)}


async def test_shutdown_waits_for_a_body_still_arriving() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nhal")
        # Inside the request (its head read, its body on its way) before the shutdown begins.
        await eventually(lambda: served.server.open_connections and not served.server._idle, limit=10)
        closing = asyncio.create_task(served.server.close(5.0))
        await asyncio.sleep(0.2)
        assert not closing.done()
        writer.write(b"f!!")
        async with asyncio.timeout(10):
            answer = await read_answer(reader)
            await closing
        writer.close()
        assert (answer.json(), answer.headers["connection"]) == (
            {"method": "POST", "query": "", "body": "half!!"},
            "close",
        )


async def test_after_the_client_s_eof_a_refusal_closes_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(httpd, "LINGER_S", 600.0)  # lingering would outlast the test
    async with serve() as served:
        reader, writer = await served.connect()
        try:
            writer.write(post("/slow", b"first") + b"GET  /bad HTTP/1.1\r\n\r\n")
            writer.write_eof()
            await asyncio.sleep(0.1)
            served.app.release.set()
            async with asyncio.timeout(10):
                first = await read_answer(reader)
                refused = await read_answer(reader)
                assert await reader.read() == b""
        finally:
            writer.close()
        assert (first.status, refused.status) == (200, 400)
        # Not lingering for what can no longer come: the connection is gone.
        await eventually(lambda: served.server.open_connections == 0, limit=10)


SEED_REQUESTS = [
    b"GET /echo?a=1 HTTP/1.1\r\nHost: x\r\n\r\n",
    post("/echo", b"abc"),
    CHUNKED_HEAD + b"3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n",
    post("/echo", b"abc", b"Expect: 100-continue"),
    b"HEAD /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    post("/slow", b"z"),
]
MUTATIONS = [
    b"\r\n",
    b"\n",
    b"\r",
    b" ",
    b":",
    b"0",
    b"9" * 30,
    b"chunked",
    b"Content-Length: ",
    b"\x00",
    b"%ff",
    b";",
]


def _mutated(rng: random.Random, request: bytes) -> bytes:
    data = bytearray(request)
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(data))
        choice = rng.random()
        if choice < 0.3:
            del data[at : at + rng.randint(1, 4)]
        elif choice < 0.7:
            data[at:at] = rng.choice(MUTATIONS)
        else:
            data[at:at] = bytes([rng.randint(0, 255)])
    return bytes(data)


async def test_mangled_requests_never_break_the_server_or_keep_a_connection(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(httpd, "LINGER_S", 0.2)
    rng = random.Random(12)
    async with serve(header_timeout_s=0.3, body_timeout_s=0.3) as served:
        served.app.release.set()

        async def client(payload: bytes) -> None:
            reader, writer = await served.connect()
            try:
                writer.write(payload)
                if rng.random() < 0.3:
                    writer.write_eof()
                with contextlib.suppress(TimeoutError, ConnectionResetError):
                    await asyncio.wait_for(reader.read(1 << 20), 0.2)
            finally:
                writer.close()

        for _ in range(60):
            count = rng.randint(1, 3)
            payload = b"".join(
                _mutated(rng, rng.choice(SEED_REQUESTS)) if rng.random() < 0.7 else rng.choice(SEED_REQUESTS)
                for _ in range(count)
            )
            await asyncio.gather(*(client(payload) for _ in range(4)))
        await eventually(lambda: served.server.open_connections == 0, limit=10)
    # Nothing escaped a callback (asyncio logs those as errors).
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []
