"""The HTTP/1.1 server of the HTTP port (webhooks, probes, metrics): a few fixed routes, each request read
whole before its handler runs, on a port that slow or idle clients cannot starve.

It is its own small server rather than aiohttp's because every Telnyx webhook passes through it: aiohttp's
request and response machinery cost more per webhook than verifying its signature (see bench/PROFILE.md).

- **Requests.** A request line and header fields within `MAX_HEAD_BYTES` (431 beyond), lines ending in
  CRLF; a body framed by Content-Length or chunked (both at once, or any other transfer coding, is refused),
  at most the route's `max_body_bytes` (its `too_large` answer beyond, sent before the rest is read);
  `Expect: 100-continue` answered; pipelined requests answered in order, also after the client half-closed.
  Anything malformed is answered 400 (505 for another HTTP version) and the connection closed: nothing
  after it can be trusted. After an answer sent before its request was read whole, what the client still
  sends is read and discarded for `LINGER_S`, so that the client reads the answer rather than a reset.
- **Routes.** An exact path and method (a GET route answers HEAD too); 404 and 405 (with `Allow`)
  otherwise. Every answer of the server's own is JSON `{"error": {"reason": ..., "message": ...}}`.
- **Header timeout**: a connection outside a request — waiting for the first request's head, idle between
  keep-alive requests, or sending a response the client does not read (closing ones too) — is closed once
  it has been so for `header_timeout_s`.
- **Body timeout**: a body not fully arrived `body_timeout_s` after its head is answered `408 body_timeout`
  and its connection closed.
- **Connection limit**: at most `max_connections` are open. A new connection beyond it closes the one that
  has been idle the longest, so slow and idle clients make room for new ones and webhooks and probes are
  still served while the limit holds. Only when every open connection is inside a request is the new one
  refused (`503`, then closed).

Each connection the server closes is counted in `voicesvc_http_connections_closed_total{reason}`
(`header_timeout`, `evicted`, `refused`, `body_timeout`); the open ones in `voicesvc_http_open_connections`.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import json
import re
import socket
import struct
import time
import typing
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote

import structlog
from multidict import CIMultiDict

from voicesvc.httpwire import ChunkedBody, FramingError, TooLarge, content_length, parse_fields
from voicesvc.server.metrics import Metrics

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "MAX_HEAD_BYTES",
    "HttpRequest",
    "HttpResponse",
    "HttpServer",
    "Route",
    "Routes",
    "error_response",
    "json_response",
]

MAX_HEAD_BYTES = 32 * 1024
"""The request line and header fields together, CRLFs included."""
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
MAX_PIPELINED_BYTES = 256 * 1024
"""Bytes read ahead while a request is handled; beyond them, reading waits for the answer."""
JSON = "application/json; charset=utf-8"

_log = structlog.get_logger("voicesvc.http")
_TIMER_SLACK_S = 0.001
"""A header timer firing this close to its due time counts as due (loops may run timers a little early)."""
_LAST_FLUSH_S = 0.2
"""At shutdown, how long answers just written get to leave even when the grace period is over."""
_RESET = struct.pack("ii", 1, 0)
"""SO_LINGER on, zero seconds: closing the socket resets the connection (nothing queued is kept)."""
LINGER_S = 2.0
"""After an answer sent before its request was read whole, how long the rest of it is read and discarded
(so that the client, still sending, gets the answer rather than a reset)."""
MAX_LINGER_BYTES = 16 * 1024 * 1024
MAX_FIELDS = 128
"""Header fields in one request at most (431 beyond)."""
_REFUSAL = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_VERSIONS = {"HTTP/1.1": True, "HTTP/1.0": False}
"""The versions served, and whether a connection is kept alive by default in each."""
# Control characters other than HTAB, and a CR not ending a line: what no field line holds (an LF without
# its CR was refused before, NUL is refused by the field pattern).
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)")
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


@dataclass(slots=True)
class HttpRequest:
    """One request, its body read whole."""

    method: str
    path: str
    query: str
    headers: CIMultiDict[str]
    body: bytes
    remote: str | None


@dataclass(slots=True)
class HttpResponse:
    """One response; `close` ends the connection once it is sent."""

    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()
    close: bool = False


def json_response(document: Any, status: int = 200) -> HttpResponse:
    """`document` as JSON text, as `json.dumps` writes it."""
    return HttpResponse(status, json.dumps(document).encode())


def error_response(status: int, reason: str, message: str, *, close: bool = False) -> HttpResponse:
    """The JSON refusal every answer of the port's own has: `{"error": {"reason", "message"}}`."""
    response = json_response({"error": {"reason": reason, "message": message}}, status)
    response.close = close
    return response


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


def _body_too_large(request: HttpRequest, limit: int) -> HttpResponse:
    return error_response(413, "body_too_large", f"body exceeds {limit} bytes")


@dataclass(frozen=True, slots=True)
class Route:
    """What answers one method on one path: `handler`, for bodies of at most `max_body_bytes`;
    `too_large(request, limit)` answers a larger one (the request without its body)."""

    handler: Handler
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    too_large: Callable[[HttpRequest, int], HttpResponse] = field(default=_body_too_large)


Routes = Mapping[str, Mapping[str, Route]]
"""path → method → route."""


# ------------------------------------------------------------------------------------------ the wire


class _RequestHead:
    """A request's parsed request line and header fields, and how its body is framed."""

    __slots__ = (
        "chunked",
        "expect_continue",
        "fields",
        "http11",
        "keep_alive",
        "length",
        "method",
        "path",
        "query",
    )

    def __init__(self, head: bytes) -> None:
        if head.count(b"\n") != head.count(b"\r\n"):
            raise FramingError("a line of the head does not end in CRLF")
        request_line, _, field_lines = head.decode("latin-1").partition("\r\n")
        parts = request_line.split(" ")
        if len(parts) != 3:
            raise FramingError(f"not an HTTP request line: {request_line[:80]!r}")
        method, target, version = parts
        if not method or not _TOKEN.issuperset(method):
            raise FramingError(f"invalid method: {method[:40]!r}")
        if version not in _VERSIONS:
            if version.startswith("HTTP/") and len(version) == 8:
                raise _UnsupportedVersion(version)
            raise FramingError(f"not an HTTP request line: {request_line[:80]!r}")
        self.method = method
        path, _, self.query = _origin_form(target).partition("?")
        self.path = unquote(path, errors="strict") if "%" in path else path
        if field_lines.count("\n") >= MAX_FIELDS:
            raise _TooManyFields(f"more than {MAX_FIELDS} header fields")
        if _CONTROL.search(field_lines):
            raise FramingError("a control character in a header field")
        self.fields = fields = parse_fields(field_lines)
        self.http11 = http11 = _VERSIONS[version]
        hosts = fields.getall("Host", ())
        if len(hosts) > 1 or (http11 and not hosts):
            raise FramingError("a request needs exactly one Host header")
        connection = {
            token.strip().lower() for value in fields.getall("Connection", ()) for token in value.split(",")
        }
        self.keep_alive = "keep-alive" in connection if not http11 else "close" not in connection
        coding = fields.get("Transfer-Encoding")
        self.chunked = coding is not None
        self.length = 0
        if coding is not None:
            if not http11:
                raise FramingError("Transfer-Encoding in an HTTP/1.0 request")
            if len(fields.getall("Transfer-Encoding")) != 1 or coding.strip().lower() != "chunked":
                raise FramingError(f"unsupported transfer coding {coding[:40]!r}")
            if "Content-Length" in fields:
                raise FramingError("a body framed both by Content-Length and chunked")
        else:
            self.length = content_length(fields) or 0
        expect = fields.get("Expect")
        if expect is not None and expect.lower() != "100-continue":
            raise _UnsupportedExpectation(expect)
        self.expect_continue = expect is not None and http11

    @property
    def has_body(self) -> bool:
        return self.chunked or self.length > 0


class _UnsupportedVersion(FramingError):
    pass


class _TooManyFields(FramingError):
    pass


class _UnsupportedExpectation(FramingError):
    pass


def _origin_form(target: str) -> str:
    """The path and query of a request target (origin form `/p?q`, or absolute form `http://host/p?q`)."""
    if target.startswith("/"):
        if not target.isprintable() or not target.isascii():
            raise FramingError("invalid request target")
        return target
    for scheme in ("http://", "https://"):
        if target[: len(scheme)].lower() == scheme:
            slash = target.find("/", len(scheme))
            return _origin_form(target[slash:]) if slash >= 0 else "/"
    raise FramingError(f"invalid request target: {target[:80]!r}")


_STATUS_LINES: dict[int, bytes] = {}


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        line = _STATUS_LINES[status] = f"HTTP/1.1 {status} {phrase}\r\n".encode("latin-1")
    return line


class _Clock:
    """The `Date` header's value, formatted once per second."""

    second = -1
    value = b""

    @classmethod
    def date(cls) -> bytes:
        now = int(time.time())
        if now != cls.second:
            cls.value = formatdate(now, usegmt=True).encode("ascii")
            cls.second = now
        return cls.value


def _encode(response: HttpResponse, head_only: bool, connection: bytes) -> bytes:
    """The response on the wire; `connection` is its `Connection` field line, if any."""
    body = response.body
    extra = (
        b"".join(f"{name}: {value}\r\n".encode("latin-1") for name, value in response.headers)
        if response.headers
        else b""
    )
    return b"%sContent-Type: %s\r\nContent-Length: %d\r\nDate: %s\r\n%s%s\r\n%s" % (
        _status_line(response.status),
        response.content_type.encode("latin-1"),
        len(body),
        _Clock.date(),
        extra,
        connection,
        b"" if head_only else body,
    )


# ------------------------------------------------------------------------------------------ connections


class _Connection(asyncio.Protocol):
    """One accepted connection: reads requests, runs their handlers one at a time, writes the answers."""

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._head: _RequestHead | None = None
        self._route: Route | None = None
        self._chunks: ChunkedBody | None = None
        self._handling = False  # a handler runs
        self._task: asyncio.Task[None] | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._header_timer: asyncio.TimerHandle | None = None
        # Since when the connection is outside a request (loop time); None inside one.
        self._idle_since: float | None = None
        self._admitted = False
        self._closed = False
        self._reading_paused = False
        self._writing_paused = False
        self._lingering = False
        self._discarded = 0
        self._eof = False  # the client half-closed: answer the requests it sent, then close
        self.counted = False
        """Whether this connection's close was counted in the metrics (each is counted once)."""
        self._socket: Any = None
        self.closing = False
        """Answer the request in progress with `Connection: close`, then close (shutdown)."""
        self.peer: Any = None
        self.remote: str | None = None

    @property
    def busy(self) -> bool:
        """Inside a request: its head has arrived and it has not been answered yet."""
        return self._idle_since is None and not self._closed

    # -- asyncio.Protocol -----------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Admit the connection (making room, or refusing it) and start its header timer."""
        # A stream transport (TCP), though not always an `asyncio.Transport` instance: uvloop's implement the
        # interface without subclassing it.
        self._transport = transport = typing.cast(asyncio.Transport, transport)
        self.peer = transport.get_extra_info("peername")
        self.remote = self.peer[0] if isinstance(self.peer, tuple) and self.peer else None
        sock = self._socket = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if not self._server._admit(self):
            _log.info("http_connection_refused", peer=self.peer, limit=self._server.max_connections)
            self._server.closed(self, "refused")
            self._closed = True
            transport.write(_REFUSAL)
            transport.close()
            return
        self._admitted = True
        self._start_idle()

    def data_received(self, data: bytes) -> None:
        """Read what came; a whole request starts its handler."""
        if self._closed:
            if self._lingering:
                self._discarded += len(data)
                if self._discarded > MAX_LINGER_BYTES:
                    self.drop()
            return
        self._buffer += data
        if self._handling or self._writing_paused:
            if len(self._buffer) > MAX_PIPELINED_BYTES and not self._reading_paused:
                self._reading_paused = True
                self._transport_or_raise().pause_reading()
            return
        self._advance()

    def eof_received(self) -> bool | None:
        """The client half-closed: answer the whole requests it sent, then close once the answers are out
        (within the header timeout, as any close)."""
        if not self._admitted:
            return None
        self._eof = True
        if self._handling:
            return True  # `_advance` closes once no whole request is left
        self._lingering = False
        self._end(linger=False)
        return True

    def pause_writing(self) -> None:
        """The client does not read: read no further request until it does."""
        self._writing_paused = True

    def resume_writing(self) -> None:
        """The client reads again: go on with what is buffered."""
        self._writing_paused = False
        if not self._handling and not self._closed:
            self._advance()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection (a running handler finishes; its answer goes nowhere)."""
        self._closed = True
        self._cancel_timers()
        if self._admitted:
            self._admitted = False
            self._server._gone(self)

    # -- what the server calls ------------------------------------------------------------------------
    def drop(self) -> None:
        """Close the connection at once, with a reset: nothing more is sent, nothing queued is kept."""
        self._closed = True
        self._lingering = False
        self._cancel_timers()
        if self._socket is not None:
            with contextlib.suppress(OSError, AttributeError, ValueError):
                self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
        if self._transport is not None:
            self._transport.abort()
        if self._admitted:
            self._admitted = False
            self._server._gone(self)

    def close_when_idle(self) -> None:
        """Shutdown: close now if outside a request, else once the request in progress is answered."""
        self.closing = True
        if not self.busy and not self._closed:
            self._end(linger=False)

    # -- reading requests -----------------------------------------------------------------------------
    def _advance(self) -> None:
        """Take the next requests' heads and bodies from the buffer, as far as they have arrived."""
        buffer = self._buffer
        while not self._closed and not self._handling and not self._writing_paused:
            if self._head is None:
                # An empty line before a request line is ignored (RFC 9112 section 2.2).
                while buffer[:2] == b"\r\n":
                    del buffer[:2]
                end = buffer.find(b"\r\n\r\n", 0, MAX_HEAD_BYTES + 4)
                bare = buffer.find(b"\n\n", 0, end if end >= 0 else MAX_HEAD_BYTES + 2)
                if bare >= 0:
                    self._busy()
                    self._refuse(400, "bad_request", "a line of the head does not end in CRLF")
                    return
                if end < 0:
                    if len(buffer) > MAX_HEAD_BYTES:
                        self._busy()
                        message = f"request head larger than {MAX_HEAD_BYTES} bytes"
                        self._refuse(431, "head_too_large", message)
                    elif self._eof:
                        self._end(linger=False)  # half-closed: no further request can come
                    break
                head_bytes = bytes(buffer[:end])
                del buffer[: end + 4]
                self._busy()
                try:
                    head = _RequestHead(head_bytes)
                except _UnsupportedVersion as exc:
                    self._refuse(505, "http_version_not_supported", f"{exc} is not served; use HTTP/1.1")
                    return
                except _UnsupportedExpectation as exc:
                    self._refuse(417, "expectation_failed", f"unsupported expectation {str(exc)[:40]!r}")
                    return
                except _TooManyFields as exc:
                    self._refuse(431, "head_too_large", str(exc))
                    return
                except TooLarge as exc:
                    self._refuse(413, "body_too_large", str(exc))
                    return
                except (FramingError, UnicodeError) as exc:
                    self._refuse(400, "bad_request", str(exc))
                    return
                if not self._begin(head):
                    continue  # answered already (the connection may go on)
            if not self._read_body():
                if self._eof and not self._handling and not self._closed:
                    self._end(linger=False)  # half-closed in the middle of a body
                break
        # Reading again once the connection is read from again: a body on its way is bounded by its route.
        if self._reading_paused and not (self._closed or self._handling or self._writing_paused):
            self._reading_paused = False
            self._transport_or_raise().resume_reading()

    def _begin(self, head: _RequestHead) -> bool:
        """Find the request's route and check its body's size; False when it has been answered already."""
        self._head = head
        routes = self._server.routes.get(head.path)
        method = head.method
        route = routes.get(method) if routes is not None else None
        if route is None and method == "HEAD" and routes is not None:
            route = routes.get("GET")
        if route is None:
            if routes is None:
                response = error_response(404, "not_found", f"no route for {head.path[:200]!r}")
            else:
                allowed = sorted({*routes, *(("HEAD",) if "GET" in routes else ())})
                response = error_response(405, "method_not_allowed", f"{method} is not allowed here")
                response.headers = (("Allow", ", ".join(allowed)),)
            # The body, if any, is not read: the connection cannot go on after it.
            self._answer(response, linger=head.has_body)
            return False
        self._route = route
        if head.length > route.max_body_bytes:
            self._too_large(route)
            return False
        if head.chunked:
            self._chunks = ChunkedBody(route.max_body_bytes, MAX_HEAD_BYTES)
        return True

    def _read_body(self) -> bool:
        """Start the handler once the body is whole; False while it is still arriving (or was refused)."""
        head, route, buffer = self._head, self._route, self._buffer
        assert head is not None
        assert route is not None
        if head.chunked:
            chunks = self._chunks
            assert chunks is not None
            try:
                if not chunks.feed(buffer):
                    return self._await_body(head)
            except TooLarge:
                self._too_large(route)
                return False
            except FramingError as exc:
                self._refuse(400, "bad_request", str(exc))
                return False
            body = bytes(chunks.body)
            self._chunks = None
        elif head.length:
            if len(buffer) < head.length:
                return self._await_body(head)
            body = bytes(buffer[: head.length])
            del buffer[: head.length]
        else:
            body = b""
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        request = HttpRequest(head.method, head.path, head.query, head.fields, body, self.remote)
        self._handling = True
        self._task = asyncio.get_running_loop().create_task(self._handle(route, request))
        self._server._tasks.add(self._task)
        return True

    def _await_body(self, head: _RequestHead) -> bool:
        """The body is still on its way: ask for it (`100 Continue`) and time it, once per request."""
        if self._body_timer is None:
            if head.expect_continue:
                self._transport_or_raise().write(_CONTINUE)
            self._body_timer = asyncio.get_running_loop().call_later(
                self._server.body_timeout_s, self._body_overdue
            )
        return False

    async def _handle(self, route: Route, request: HttpRequest) -> None:
        try:
            response = await route.handler(request)
        except Exception:  # noqa: BLE001 - any handler failure is answered 500, never a dropped request
            _log.exception("http_handler_failed", path=request.path, method=request.method)
            response = error_response(500, "internal", "the request could not be handled")
        finally:
            self._handling = False
            task, self._task = self._task, None
            if task is not None:
                self._server._tasks.discard(task)
        self._answer(response)
        if not self._closed:
            self._advance()

    def _too_large(self, route: Route) -> None:
        head = self._head
        assert head is not None
        request = HttpRequest(head.method, head.path, head.query, head.fields, b"", self.remote)
        # The rest of the body is not read: the connection ends after the answer.
        self._answer(route.too_large(request, route.max_body_bytes), linger=True)

    def _refuse(self, status: int, reason: str, message: str, *, linger: bool = True) -> None:
        """Answer with an error and end the connection (what follows cannot be trusted)."""
        self._answer(error_response(status, reason, message, close=True), linger=linger)

    def _body_overdue(self) -> None:
        self._body_timer = None
        if self._closed or self._handling or self._head is None:
            return
        _log.warning("http_body_timeout", path=self._head.path, peer=self.peer)
        self._server.closed(self, "body_timeout")
        message = f"the request body did not arrive within {self._server.body_timeout_s:g}s"
        self._refuse(408, "body_timeout", message, linger=False)

    # -- answering ------------------------------------------------------------------------------------
    def _answer(self, response: HttpResponse, *, linger: bool = False) -> None:
        """Send `response` to the request in progress; then the connection is idle, or ends (`linger`: the
        request was not read whole, so what the client still sends is read and discarded a while)."""
        head = self._head
        self._head = None
        self._route = None
        self._chunks = None
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        transport = self._transport
        if self._closed or transport is None:
            return
        if transport.is_closing():
            self.drop()
            return
        close = linger or response.close or self.closing or head is None or not head.keep_alive
        if close:
            connection = b"Connection: close\r\n"
        else:
            assert head is not None
            connection = b"" if head.http11 else b"Connection: keep-alive\r\n"
        head_only = head is not None and head.method == "HEAD"
        transport.write(_encode(response, head_only, connection))
        if close:
            self._end(linger)
        else:
            self._start_idle()

    def _end(self, linger: bool) -> None:
        """No more requests: close once the answers are out, within the header timeout (a client that does
        not read them is cut off then), and let the connection be evicted meanwhile."""
        self._closed = True
        self._cancel_timers()
        transport = self._transport_or_raise()
        if self._admitted:
            self._server._idle_from_now(self)
        loop = asyncio.get_running_loop()
        if linger and not self._eof and transport.can_write_eof():  # (after the client's EOF, nothing comes)
            self._lingering = True
            transport.write_eof()
            if self._reading_paused:
                self._reading_paused = False
                transport.resume_reading()
            self._header_timer = loop.call_later(LINGER_S, self._linger_over)
            return
        transport.close()
        if transport.get_write_buffer_size():
            self._header_timer = loop.call_later(self._server.header_timeout_s, self._flush_overdue)

    def _linger_over(self) -> None:
        self._header_timer = None
        self._lingering = False
        self._end(linger=False)

    def _flush_overdue(self) -> None:
        self._header_timer = None
        _log.debug("http_connection_closed", reason="header_timeout", peer=self.peer)
        self._server.closed(self, "header_timeout")
        self.drop()

    # -- the header timer and the server's accounting -------------------------------------------------
    def _busy(self) -> None:
        # The armed timer stays: when it fires it finds the connection busy, or idle for less than the
        # timeout, and closes nothing (re-arming a timer for every request costs more than that check).
        self._idle_since = None
        self._server._busy(self)

    def _start_idle(self) -> None:
        self._server._idle_from_now(self)
        loop = asyncio.get_running_loop()
        self._idle_since = loop.time()
        if self._header_timer is None:
            self._header_timer = loop.call_at(
                self._idle_since + self._server.header_timeout_s, self._header_timeout
            )

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self._closed or self._idle_since is None:
            return  # busy: the answer arms the timer again
        loop = asyncio.get_running_loop()
        due = self._idle_since + self._server.header_timeout_s
        if due - loop.time() > _TIMER_SLACK_S:
            # Idle again since a later request: not yet for the whole timeout.
            self._header_timer = loop.call_at(due, self._header_timeout)
            return
        _log.debug("http_connection_closed", reason="header_timeout", peer=self.peer)
        self._server.closed(self, "header_timeout")
        self.drop()

    def _cancel_timers(self) -> None:
        for timer in (self._header_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._header_timer = self._body_timer = None

    def _transport_or_raise(self) -> asyncio.Transport:
        assert self._transport is not None
        return self._transport


# ------------------------------------------------------------------------------------------ the server


class HttpServer:
    """Serves `routes` on one listening socket, within the connection limit and the two timeouts."""

    def __init__(
        self,
        routes: Routes,
        metrics: Metrics,
        *,
        header_timeout_s: float,
        body_timeout_s: float,
        max_connections: int,
    ) -> None:
        if header_timeout_s <= 0 or body_timeout_s <= 0 or max_connections < 1:
            raise ValueError("HTTP timeouts and the connection limit must be positive")
        self.routes = routes
        self.metrics = metrics
        self.header_timeout_s = header_timeout_s
        self.body_timeout_s = body_timeout_s
        self.max_connections = max_connections
        self._open: set[_Connection] = set()
        # Connections outside a request, longest idle first.
        self._idle: OrderedDict[_Connection, None] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Server | None = None
        self._changed = asyncio.Event()
        """Set when a connection goes idle or away (what `close` waits for)."""

    @property
    def open_connections(self) -> int:
        """How many connections are open."""
        return len(self._open)

    @property
    def port(self) -> int:
        """The port listened on."""
        assert self._listener is not None
        return int(self._listener.sockets[0].getsockname()[1])

    async def start(
        self, host: str | None = None, port: int = 0, *, sock: socket.socket | None = None
    ) -> None:
        """Listen on `host:port`, or on a bound `sock`."""
        loop = asyncio.get_running_loop()
        if sock is not None:
            self._listener = await loop.create_server(lambda: _Connection(self), sock=sock, backlog=512)
        else:
            self._listener = await loop.create_server(
                lambda: _Connection(self), host, port, backlog=512, reuse_address=True
            )

    async def close(self, grace_s: float) -> None:
        """Stop listening and close idle connections; requests in progress (bodies still arriving, handlers
        running) get `grace_s` seconds to be answered, then everything is closed."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        for connection in list(self._open):
            connection.close_when_idle()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_s
        await self._until(lambda: not any(connection.busy for connection in self._open), deadline)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)
        for connection in list(self._open):
            if connection.busy:
                connection.drop()
            else:
                connection.close_when_idle()
        # Answers still on their way out, within the grace period (at least a moment for the last ones).
        await self._until(lambda: not self._open, max(deadline, loop.time() + _LAST_FLUSH_S))
        for connection in list(self._open):
            connection.drop()
        if listener is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(listener.wait_closed(), 1.0)

    async def _until(self, done: Callable[[], bool], deadline: float) -> None:
        """Wait until `done()` (checked when a connection goes idle or away) or the loop time `deadline`."""
        loop = asyncio.get_running_loop()
        while not done():
            left = deadline - loop.time()
            if left <= 0:
                return
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    def closed(self, connection: _Connection, reason: str) -> None:
        """Count `connection` as closed by the server for `reason` (once: the first reason counts)."""
        if not connection.counted:
            connection.counted = True
            self.metrics.http_connections_closed.labels(reason=reason).inc()

    def _admit(self, connection: _Connection) -> bool:
        if len(self._open) >= self.max_connections:
            if not self._idle:
                return False
            oldest, _ = self._idle.popitem(last=False)
            # Per connection at debug level (a flood would flood the log too); the metrics count them.
            _log.debug(
                "http_connection_closed", reason="evicted", peer=oldest.peer, limit=self.max_connections
            )
            self.closed(oldest, "evicted")
            oldest.drop()
        self._open.add(connection)
        self.metrics.http_open_connections.set(len(self._open))
        return True

    def _idle_from_now(self, connection: _Connection) -> None:
        self._changed.set()
        self._idle[connection] = None
        self._idle.move_to_end(connection)

    def _busy(self, connection: _Connection) -> None:
        self._idle.pop(connection, None)

    def _gone(self, connection: _Connection) -> None:
        self._changed.set()
        self._idle.pop(connection, None)
        if connection in self._open:
            self._open.discard(connection)
            self.metrics.http_open_connections.set(len(self._open))
