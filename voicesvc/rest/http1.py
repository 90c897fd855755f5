"""HTTP/1.1 keep-alive connections to one origin: the transport under the Telnyx client.

A JSON API client needs little of HTTP: one request written as one piece, one response read whole into
memory. This module does exactly that, in a protocol that frames the response as bytes arrive, so that a
request on a pooled connection costs a few Python calls instead of a general-purpose client's hundred-odd.

What it does not do, by design: redirects (Telnyx answers without them, and the client refuses to follow),
content codings (it never asks for one), request pipelining, proxies, and HTTP/2.

The errors tell the caller what matters for a retry: `ConnectFailed` means no byte of the request left;
any other `TransportError` means the request may have reached the server.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import ssl
import time
import typing
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohappyeyeballs
from multidict import CIMultiDictProxy

from voicesvc.httpwire import ChunkedBody, FramingError, content_length, is_number, parse_fields

MAX_HEAD_BYTES = 64 * 1024
"""A response's status line and headers together may not be larger."""
MAX_BODY_BYTES = 16 * 1024 * 1024
"""A response body may not be larger: a JSON API's answer this big is a fault, not data."""
IDLE_TIMEOUT_S = 15.0
"""A pooled connection idle for longer is closed rather than reused: servers drop idle connections, and a
request sent on one that is being dropped may be lost after it left. A server's own `Keep-Alive: timeout=`
shortens it."""
DNS_TTL_S = 300.0
"""How long the origin's resolved addresses are used before they are resolved again."""
HAPPY_EYEBALLS_DELAY_S = 0.25
"""How long one address may take to connect before the next is tried alongside (RFC 8305)."""
ACCEPT_ENCODING = "gzip, deflate"
"""The content codings responses may come in (the `Accept-Encoding` a request should send): decoded here."""

AddressInfo = tuple[int, int, int, str, tuple[Any, ...]]
"""One `getaddrinfo` result."""


class TransportError(Exception):
    """The exchange failed below HTTP: no complete response came."""


class ConnectFailed(TransportError):
    """No connection could be had; nothing of the request was sent."""


class ConnectTimeout(ConnectFailed):
    """No connection within the connect time limit (opening one, or waiting for a free one)."""


class ConnectionDropped(TransportError):
    """The connection closed before the whole response came."""


class MalformedResponse(TransportError):
    """The server's answer is not HTTP/1.x this client can read."""


@dataclass(frozen=True, slots=True)
class Response:
    """One complete HTTP response."""

    status: int
    reason: str
    headers: CIMultiDictProxy[str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Origin:
    """Where requests go: scheme, host and port, with the path every request target starts with."""

    tls: bool
    host: str
    """As connected to (IDNA-encoded; an IPv6 address without brackets)."""
    port: int
    host_header: str
    """The `Host` header's value."""
    path: str
    """The base URL's path without its trailing slash ("" for none)."""

    @classmethod
    def from_url(cls, url: str) -> Origin:
        """The origin of an absolute http(s) URL; ValueError names what is wrong with it."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError("base URL must be an absolute http or https URL")
        if parts.username is not None or parts.password is not None:
            raise ValueError("base URL must not carry credentials")
        if not parts.hostname:
            raise ValueError("base URL has no host")
        if parts.query or parts.fragment:
            raise ValueError("base URL must not have a query or fragment")
        tls = parts.scheme == "https"
        default_port = 443 if tls else 80
        host = parts.hostname.encode("idna").decode("ascii")
        port = parts.port or default_port
        bracketed = f"[{host}]" if ":" in host else host
        host_header = bracketed if port == default_port else f"{bracketed}:{port}"
        path = parts.path.rstrip("/")
        if not is_request_target(path or "/"):
            raise ValueError("base URL path must be percent-encoded")
        return cls(tls, host, port, host_header, path)


def is_request_target(target: str) -> bool:
    """Whether `target` can go on a request line as it is: printable ASCII, no space."""
    return target.isascii() and target.isprintable() and " " not in target


# How a response's body is delimited (RFC 9112 section 6.3).
_NO_BODY = 0
_LENGTH = 1
_CHUNKED = 2
_UNTIL_CLOSE = 3

_EMPTY_STATUSES = frozenset({204, 304})


class _Head:
    """A response's parsed status line and headers, and how its body is framed."""

    __slots__ = ("coding", "framing", "headers", "keep_alive", "keep_alive_s", "length", "reason", "status")

    def __init__(self, head: bytes, head_request: bool) -> None:
        status_line, _, field_lines = head.decode("latin-1").partition("\r\n")
        version, _, rest = status_line.partition(" ")
        code, _, reason = rest.partition(" ")
        if version not in ("HTTP/1.1", "HTTP/1.0") or len(code) != 3 or not is_number(code):
            raise MalformedResponse(f"not an HTTP/1.x status line: {status_line[:80]!r}")
        self.status = status = int(code)
        self.reason = reason
        try:
            self.headers = fields = parse_fields(field_lines)
        except FramingError as exc:
            raise MalformedResponse(str(exc)) from None
        connection = fields.get("Connection", "").lower()
        self.keep_alive = version == "HTTP/1.1" and "close" not in connection
        self.keep_alive_s = _keep_alive_timeout(fields.get("Keep-Alive"))
        self.coding = fields.get("Content-Encoding")
        self.length = 0
        if head_request or status in _EMPTY_STATUSES or status < 200:
            self.framing = _NO_BODY
            return
        coding = fields.get("Transfer-Encoding")
        if coding is not None:
            # Only chunked framing, nothing under it: a transfer coding is not asked for, so not decoded.
            if coding.strip().lower() != "chunked":
                raise MalformedResponse(f"unsupported transfer coding {coding[:40]!r}")
            self.framing = _CHUNKED
            if "Content-Length" in fields:
                self.keep_alive = False  # a message framed two ways is not trusted to end where it says
            return
        try:
            length = content_length(fields)
        except FramingError as exc:
            raise MalformedResponse(str(exc)) from None
        if length is None:
            self.framing = _UNTIL_CLOSE
            self.keep_alive = False
            return
        self.length = length
        if self.length > MAX_BODY_BYTES:
            raise MalformedResponse(f"response body larger than {MAX_BODY_BYTES} bytes")
        self.framing = _LENGTH


class Connection(asyncio.Protocol):
    """One keep-alive connection: writes a request, reads the response, and goes back to its pool."""

    __slots__ = (
        "_body",
        "_buffer",
        "_chunks",
        "_head",
        "_head_request",
        "_pool",
        "_transport",
        "_waiter",
        "closed",
        "idle_limit_s",
        "idle_since",
    )

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.idle_limit_s = pool.idle_timeout_s
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Response] | None = None
        self._head_request = False
        self._head: _Head | None = None
        self._body = bytearray()
        self._chunks: ChunkedBody | None = None

    # ---------------------------------------------------------------------------------- the exchange

    async def exchange(self, request: bytes) -> Response:
        """Write `request` (its head and body, whole) and wait for the complete response.

        Afterwards the connection is back in its pool when it can carry another request, and closed when
        not. However the wait ends early (cancellation, an error), the connection is closed: a late
        response must not answer the next request.
        """
        transport = self._transport
        if transport is None or self.closed:
            raise ConnectFailed("connection closed before the request was sent")
        waiter: asyncio.Future[Response] = self._pool.loop.create_future()
        self._waiter = waiter
        self._head_request = request.startswith(b"HEAD ")
        transport.write(request)
        try:
            return await waiter
        except BaseException:
            # Unless the response came (the connection is the pool's again, perhaps another request's).
            if self._waiter is waiter:
                self._waiter = None
                self.abort()
            raise

    def closing(self) -> bool:
        """Whether the connection is closed or on its way to be (the server's close has been read)."""
        transport = self._transport
        return self.closed or transport is None or transport.is_closing()

    def abort(self) -> None:
        """Close at once, dropping whatever is unsent or unread."""
        if self._transport is not None:
            self._transport.abort()
        self._gone()

    def close(self) -> None:
        """Close once what is written has gone out."""
        if self._transport is not None:
            self._transport.close()
        self._gone()

    def _gone(self) -> None:
        if not self.closed:
            self.closed = True
            self._pool._lost(self)

    # ---------------------------------------------------------------------------------- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport the request is written to."""
        # A stream transport, though not always an `asyncio.Transport` instance (uvloop's are not).
        self._transport = typing.cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        """Frame what came; once the response is whole, hand it over."""
        if self._waiter is None:
            # Bytes nobody asked for: the next response could not be told from them.
            self.abort()
            return
        self._buffer += data
        try:
            response = self._parse()
        except MalformedResponse as exc:
            self._fail(exc)
            return
        if response is not None:
            self._deliver(response)

    def connection_lost(self, exc: Exception | None) -> None:
        """A body read until the close is complete; any other unfinished exchange fails."""
        head = self._head
        if self._waiter is not None:
            if exc is None and head is not None and head.framing == _UNTIL_CLOSE:
                try:
                    response = _response(head, bytes(self._body))
                except MalformedResponse as error:
                    self._fail(error)
                else:
                    self._deliver(response)
            else:
                reason = (
                    f"connection lost: {_describe(exc)}"
                    if exc is not None
                    else "server closed the connection"
                )
                if head is not None:
                    reason += " in the middle of the response"
                self._fail(ConnectionDropped(reason))
        self._gone()

    # ---------------------------------------------------------------------------------- framing

    def _parse(self) -> Response | None:
        buffer = self._buffer
        head = self._head
        while head is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0 or end > MAX_HEAD_BYTES:
                if len(buffer) > MAX_HEAD_BYTES:
                    raise MalformedResponse(f"response head larger than {MAX_HEAD_BYTES} bytes")
                return None
            parsed = _Head(bytes(buffer[:end]), self._head_request)
            del buffer[: end + 4]
            if parsed.status == 101:
                raise MalformedResponse("the server switched protocols")
            if parsed.status >= 200:
                head = self._head = parsed
            # An interim (1xx) response: the final one follows.
        framing = head.framing
        if framing == _LENGTH:
            length = head.length
            if len(buffer) < length:
                return None
            body = bytes(buffer[:length])
            del buffer[:length]
        elif framing == _NO_BODY:
            body = b""
        elif framing == _CHUNKED:
            if not self._read_chunks():
                return None
            assert self._chunks is not None
            body = bytes(self._chunks.body)
        else:
            self._body += buffer
            buffer.clear()
            if len(self._body) > MAX_BODY_BYTES:
                raise MalformedResponse(f"response body larger than {MAX_BODY_BYTES} bytes")
            return None  # complete when the server closes the connection
        return _response(head, body)

    def _read_chunks(self) -> bool:
        """Move whole chunks from the buffer into the body; True once the last chunk and trailers are in."""
        chunks = self._chunks
        if chunks is None:
            chunks = self._chunks = ChunkedBody(MAX_BODY_BYTES, MAX_HEAD_BYTES)
        try:
            return chunks.feed(self._buffer)
        except FramingError as exc:
            raise MalformedResponse(f"response {exc}") from None

    def _deliver(self, response: Response) -> None:
        waiter, self._waiter = self._waiter, None
        head, self._head = self._head, None
        self._chunks = None
        if self._body:
            self._body = bytearray()
        if head is not None and head.keep_alive and not self._buffer and not self.closed:
            if head.keep_alive_s is not None:
                self.idle_limit_s = min(self._pool.idle_timeout_s, head.keep_alive_s)
            self._pool._put_idle(self)
        else:
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    def _fail(self, error: TransportError) -> None:
        waiter, self._waiter = self._waiter, None
        self.abort()
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


class ConnectionPool:
    """Keep-alive connections to one origin, at most `max_connections` open at once.

    `take_idle()` hands out a pooled connection without waiting; `connect()` waits for one (a pooled one
    coming free, or a new one where the limit allows) within the connect time limit. A connection goes
    back to the pool by itself when its response is complete.

    New connections go to the origin's addresses as Happy Eyeballs (RFC 8305) does: when one address does
    not answer within 0.25 s the next is tried alongside. The addresses are resolved at most every
    `DNS_TTL_S`.
    """

    def __init__(
        self, origin: Origin, *, max_connections: int, idle_timeout_s: float = IDLE_TIMEOUT_S
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.origin = origin
        self.loop = asyncio.get_running_loop()
        self.idle_timeout_s = idle_timeout_s
        self._max_connections = max_connections
        self._idle: list[Connection] = []
        self._open: set[Connection] = set()
        self._opening = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        # Waiters told something came free that have not run yet: what came free is kept for them.
        self._woken = 0
        self._ssl = ssl.create_default_context() if origin.tls else None
        self._addresses: list[AddressInfo] = []
        self._addresses_until = 0.0
        self._closed = False

    @property
    def open_connections(self) -> int:
        """Connections open now, busy or idle."""
        return len(self._open)

    def take_idle(self) -> Connection | None:
        """A pooled connection that is still fresh and open, or None (also when the ones there are kept
        for waiters that came first)."""
        idle = self._idle
        while len(idle) > self._woken:
            connection = idle.pop()
            if (
                time.monotonic() - connection.idle_since <= connection.idle_limit_s
                and not connection.closing()
            ):
                return connection
            connection.close()
        return None

    async def connect(self, timeout_s: float) -> Connection:
        """A connection within `timeout_s`: a pooled one, one that comes free, or a new one.

        Raises `ConnectTimeout` when the time runs out and `ConnectFailed` when the server cannot be
        reached (unknown host, refused, failed TLS handshake) or the pool is closed.
        """
        woken = False
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    if self._closed:
                        raise ConnectFailed("connection pool closed")
                    connection = self.take_idle()
                    if connection is not None:
                        return connection
                    # Free places beyond those kept for other woken waiters (each keeps an idle connection
                    # or, past the idle ones, a place).
                    kept = max(0, self._woken - len(self._idle))
                    if len(self._open) + self._opening + kept < self._max_connections:
                        return await self._open_new()
                    # Woken but beaten to it (the connection closed meanwhile): first in line again.
                    await self._wait_for_free(first=woken)
                    woken = True
        except TimeoutError:
            raise ConnectTimeout(f"connect timeout after {timeout_s:.3g}s") from None

    async def _open_new(self) -> Connection:
        origin = self.origin
        self._opening += 1
        try:
            sock = await aiohappyeyeballs.start_connection(
                await self._resolve(), happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY_S, interleave=1
            )
            _, connection = await self.loop.create_connection(
                lambda: Connection(self),
                sock=sock,
                ssl=self._ssl,
                server_hostname=origin.host if self._ssl is not None else None,
            )
        except BaseException as exc:
            self._opening -= 1
            self._wake()  # the place this connection held is free again
            # uvloop reports some failures to connect a socket as RuntimeError (aio-libs/aiohappyeyeballs#93).
            if isinstance(exc, OSError | RuntimeError):
                self._addresses_until = 0.0  # the addresses may have changed: resolve them again
                raise ConnectFailed(f"cannot connect to {origin.host_header}: {_describe(exc)}") from exc
            raise
        self._opening -= 1
        if self._closed or connection.closed:
            connection.abort()
            self._wake()
            raise ConnectFailed(
                "connection pool closed" if self._closed else "connection closed as it opened"
            )
        self._open.add(connection)
        return connection

    async def _resolve(self) -> list[AddressInfo]:
        """The origin's addresses, resolved again once `DNS_TTL_S` has passed."""
        now = time.monotonic()
        if now >= self._addresses_until:
            origin = self.origin
            infos = await self.loop.getaddrinfo(origin.host, origin.port, type=socket.SOCK_STREAM)
            if not infos:
                raise OSError(f"no address for {origin.host}")
            self._addresses = list(infos)
            self._addresses_until = now + DNS_TTL_S
        return self._addresses

    async def _wait_for_free(self, *, first: bool = False) -> None:
        """Wait, in line, until a connection comes back to the pool or closes (so a new one may be
        opened); what came free is kept for this waiter until it runs."""
        waiter: asyncio.Future[None] = self.loop.create_future()
        if first:
            self._waiters.appendleft(waiter)
        else:
            self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                if waiter.exception() is None:
                    self._woken -= 1
                    self._wake()  # woken just as the wait ended: what came free goes to the next
            else:
                waiter.cancel()
                self._waiters.remove(waiter)
            raise
        self._woken -= 1

    def _put_idle(self, connection: Connection) -> None:
        # The connection goes into the pool, never straight to a waiter: the waiter takes it a loop turn
        # later, by when a server's close right after its response has been read.
        connection.idle_since = time.monotonic()
        self._idle.append(connection)
        if self._waiters:
            self._wake()

    def _lost(self, connection: Connection) -> None:
        if connection in self._open:
            self._open.discard(connection)
            if connection in self._idle:
                self._idle.remove(connection)
            self._wake()

    def _wake(self) -> None:
        """Something came free: tell the first waiter, and keep it for that waiter until it runs."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self._woken += 1
                return

    async def close(self) -> None:
        """Close every connection; waiting and later `connect()` calls fail with `ConnectFailed`."""
        self._closed = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(ConnectFailed("connection pool closed"))
        for connection in list(self._open):
            connection._fail(ConnectionDropped("connection pool closed"))
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports report their connections lost


def _response(head: _Head, body: bytes) -> Response:
    """The response of `head` with its whole `body`, content coding removed."""
    if head.coding is not None and body:
        body = _decoded(head.coding, body)
    return Response(head.status, head.reason, CIMultiDictProxy(head.headers), body)


def _keep_alive_timeout(header: str | None) -> float | None:
    """From `Keep-Alive: timeout=N`: how long the connection may sit idle, a second short of the N."""
    if header is None:
        return None
    for parameter in header.split(","):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "timeout" and is_number(value.strip()):
            return max(0.0, int(value.strip()) - 1.0)
    return None


def _decoded(coding: str, body: bytes) -> bytes:
    """`body` without its content coding (`ACCEPT_ENCODING`), at most `MAX_BODY_BYTES` of it."""
    name = coding.strip().lower()
    if name in ("", "identity"):
        return body
    if name in ("gzip", "x-gzip"):
        attempts: tuple[int, ...] = (zlib.MAX_WBITS | 16,)
    elif name == "deflate":
        attempts = (zlib.MAX_WBITS, -zlib.MAX_WBITS)  # zlib-wrapped as the RFC says, or raw as some send
    else:
        raise MalformedResponse(f"unsupported content coding {coding[:40]!r}")
    for wbits in attempts:
        decompressor = zlib.decompressobj(wbits)
        try:
            decoded = decompressor.decompress(body, MAX_BODY_BYTES)
        except zlib.error:
            continue
        if decompressor.unconsumed_tail:
            raise MalformedResponse(f"response body larger than {MAX_BODY_BYTES} bytes once decoded")
        if not decompressor.eof:
            break
        return decoded
    raise MalformedResponse(f"response body is not valid {name}")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
