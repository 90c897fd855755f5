"""The HTTP side of the service: Telnyx webhooks, liveness, readiness and Prometheus metrics, on a port that
slow or idle clients cannot starve.

aiohttp bounds neither the time a client takes to send a request's headers nor the time it takes to send
the body, nor the number of open connections. `GuardedSite` listens with each accepted connection wrapped in
a `_GuardedConnection`, managed by one `ConnectionGuard`; each route's handler tells the guard while it
runs:

- **Header timeout**: a connection outside a request handler — waiting for the first request's headers,
  idle between keep-alive requests, or sending a response the client does not read — is closed once it has
  been so for `header_timeout_s`.
- **Body timeout**: a request whose body has not fully arrived `body_timeout_s` after its headers is answered
  `408 body_timeout` and its connection closed.
- **Connection limit**: at most `max_connections` are open. A new connection beyond it closes the one that
  has been idle (outside a handler) the longest — slow and idle clients make room for new ones, so webhooks
  and probes are still served while the limit holds. Only when every open connection is inside a handler
  is the new one refused (`503`, then closed).
"""

from __future__ import annotations

import asyncio
import socket
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, cast

import structlog
from aiohttp import StreamReader, web

from voicesvc.server.metrics import CONTENT_TYPE, Metrics

WEBHOOK_PATH = "/webhooks/telnyx"
WebhookHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_log = structlog.get_logger("voicesvc.http")
_TIMER_SLACK_S = 0.001
"""A header timer firing this close to its due time counts as due (loops may run timers a little early)."""
_REFUSAL = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class BodyTimeout(Exception):
    """The request body did not arrive within the body timeout."""


class ConnectionGuard:
    """Keeps the open connections of one HTTP port within a number and each idle phase within a time.

    Counts each connection it closes in `metrics` (`voicesvc_http_connections_closed_total{reason}`:
    `header_timeout`, `evicted`, `refused`, `body_timeout`) and the open ones in
    `voicesvc_http_open_connections`.
    """

    def __init__(
        self,
        protocol_factory: Callable[[], asyncio.Protocol],
        metrics: Metrics,
        *,
        header_timeout_s: float,
        body_timeout_s: float,
        max_connections: int,
    ) -> None:
        if header_timeout_s <= 0 or body_timeout_s <= 0 or max_connections < 1:
            raise ValueError("HTTP timeouts and the connection limit must be positive")
        self.header_timeout_s = header_timeout_s
        self.body_timeout_s = body_timeout_s
        self.max_connections = max_connections
        self.metrics = metrics
        self._factory = protocol_factory
        self._open: set[_GuardedConnection] = set()
        # Connections outside a request handler, longest idle first.
        self._idle: OrderedDict[_GuardedConnection, None] = OrderedDict()

    def __call__(self) -> asyncio.Protocol:
        """The protocol of one accepted connection (the loop's protocol factory)."""
        return _GuardedConnection(self, self._factory())

    @property
    def open_connections(self) -> int:
        """How many connections are open (and handed to aiohttp)."""
        return len(self._open)

    def closed(self, reason: str) -> None:
        """Count one connection closed by the guard (or the body timeout) for `reason`."""
        self.metrics.http_connections_closed.labels(reason=reason).inc()

    def _admit(self, connection: _GuardedConnection) -> bool:
        if len(self._open) >= self.max_connections:
            if not self._idle:
                return False
            oldest, _ = self._idle.popitem(last=False)
            # Per connection at debug level (a flood would flood the log too); the metrics count them.
            _log.debug(
                "http_connection_closed", reason="evicted", peer=oldest.peer, limit=self.max_connections
            )
            self.closed("evicted")
            oldest.drop()
            self._gone(oldest)
        self._open.add(connection)
        self.metrics.http_open_connections.set(len(self._open))
        return True

    def _idle_from_now(self, connection: _GuardedConnection) -> None:
        self._idle[connection] = None
        self._idle.move_to_end(connection)

    def _busy(self, connection: _GuardedConnection) -> None:
        self._idle.pop(connection, None)

    def _gone(self, connection: _GuardedConnection) -> None:
        self._idle.pop(connection, None)
        self._open.discard(connection)
        self.metrics.http_open_connections.set(len(self._open))


class _GuardedConnection(asyncio.Protocol):
    """One accepted connection: aiohttp's protocol inside, with the header timer and the guard's accounting
    around it."""

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol) -> None:
        self._guard = guard
        self._inner = inner
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        # Since when the connection is outside a handler (loop time); None while a handler runs.
        self._idle_since: float | None = None
        self._admitted = False
        self._handlers = 0
        self.peer: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Admit the connection (making room, or refusing it) and start its header timer."""
        # A stream transport (TCP), though not always an `asyncio.Transport` instance: uvloop's implement the
        # interface without subclassing it.
        transport = cast("asyncio.Transport", transport)
        self._transport = transport
        self.peer = transport.get_extra_info("peername")
        if not self._guard._admit(self):
            _log.info("http_connection_refused", peer=self.peer, limit=self._guard.max_connections)
            self._guard.closed("refused")
            transport.write(_REFUSAL)
            transport.close()
            return
        self._admitted = True
        self._inner.connection_made(transport)
        self._start_idle()

    def data_received(self, data: bytes) -> None:
        """Hand the bytes to aiohttp."""
        if self._admitted:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        """Tell aiohttp the client half-closed."""
        return self._inner.eof_received() if self._admitted else None

    def pause_writing(self) -> None:
        """Flow control, for aiohttp."""
        if self._admitted:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        """Flow control, for aiohttp."""
        if self._admitted:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection and tell aiohttp."""
        self._cancel_timer()
        if not self._admitted:
            return
        self._admitted = False
        self._guard._gone(self)
        self._inner.connection_lost(exc)

    # -- what the route handlers and the guard call ---------------------------------------------------
    def handler_started(self) -> None:
        """A request's headers arrived and its handler runs: no header timeout meanwhile."""
        self._handlers += 1
        # The armed timer stays: when it fires it finds the connection busy, or idle for less than the
        # timeout, and closes nothing (re-arming a timer for every request costs more than that check).
        self._idle_since = None
        self._guard._busy(self)

    def handler_finished(self) -> None:
        """The handler returned: the connection is idle again (the response still being written)."""
        self._handlers -= 1
        if self._handlers == 0 and self._admitted:
            self._start_idle()

    def drop(self) -> None:
        """Close the connection at once (nothing more is sent)."""
        self._cancel_timer()
        if self._transport is not None:
            self._transport.abort()

    def _start_idle(self) -> None:
        self._guard._idle_from_now(self)
        loop = asyncio.get_running_loop()
        self._idle_since = loop.time()
        if self._timer is None:
            self._timer = loop.call_at(self._idle_since + self._guard.header_timeout_s, self._header_timeout)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _header_timeout(self) -> None:
        self._timer = None
        if self._handlers or not self._admitted or self._idle_since is None:
            return  # busy: the handler's end arms the timer again
        loop = asyncio.get_running_loop()
        due = self._idle_since + self._guard.header_timeout_s
        if due - loop.time() > _TIMER_SLACK_S:
            # Idle again since a later request: not yet for the whole timeout.
            self._timer = loop.call_at(due, self._header_timeout)
            return
        _log.debug("http_connection_closed", reason="header_timeout", peer=self.peer)
        self._guard.closed("header_timeout")
        self._guard._busy(self)
        self.drop()


class GuardedSite(web.BaseSite):
    """An aiohttp site whose connections go through `guard`: on `host:port`, or on a bound `sock`."""

    def __init__(
        self,
        runner: web.BaseRunner,
        guard: ConnectionGuard,
        *,
        host: str | None = None,
        port: int = 0,
        sock: socket.socket | None = None,
    ) -> None:
        super().__init__(runner)
        self._guard = guard
        self._host = host
        self._port = port
        self._sock = sock

    @property
    def name(self) -> str:
        """The URL this site serves."""
        return f"http://{self._host or '[::]'}:{self._port}"

    async def start(self) -> None:
        """Listen."""
        await super().start()
        loop = asyncio.get_running_loop()
        if self._sock is not None:
            self._server = await loop.create_server(self._guard, sock=self._sock, backlog=self._backlog)
        else:
            self._server = await loop.create_server(
                self._guard, self._host, self._port, backlog=self._backlog, reuse_address=True
            )


def _body_overdue(content: StreamReader) -> None:
    if not content.is_eof():
        content.set_exception(BodyTimeout())


def _guarded(handler: Callable[[web.Request], Awaitable[Any]]) -> Callable[[web.Request], Awaitable[Any]]:
    """`handler`, telling the connection's guard while it runs, and answering 408 when the body is overdue.

    Each route's handler is wrapped once, when the app is built, rather than by an aiohttp middleware (which
    adds two coroutine layers to every request).
    """

    async def guarded(request: web.Request) -> Any:
        transport = request.transport
        connection = transport.get_protocol() if transport is not None else None
        if not isinstance(connection, _GuardedConnection):
            return await handler(request)
        connection.handler_started()
        content = request.content
        guard = connection._guard
        timer: asyncio.TimerHandle | None = None
        if not content.is_eof():  # a small body has usually arrived with the headers: no timer for it
            timer = asyncio.get_running_loop().call_later(guard.body_timeout_s, _body_overdue, content)
        try:
            return await handler(request)
        except BodyTimeout:
            _log.warning("http_body_timeout", path=request.path, peer=connection.peer)
            guard.closed("body_timeout")
            response = web.json_response(
                {
                    "error": {
                        "reason": "body_timeout",
                        "message": f"the request body did not arrive within {guard.body_timeout_s:g}s",
                    }
                },
                status=408,
            )
            response.force_close()
            return response
        finally:
            if timer is not None:
                timer.cancel()
            connection.handler_finished()

    return guarded


class Readiness:
    """Whether the service should receive traffic: not while starting, not while something it needs is held
    down (`hold`), and not once shutdown began."""

    def __init__(self) -> None:
        self._phase = "starting"
        self._holds: dict[str, None] = {}  # reasons, in the order they arose

    @property
    def ready(self) -> bool:
        """Whether the service is serving and nothing holds it back."""
        return self._phase == "serving" and not self._holds

    @property
    def reason(self) -> str:
        """Why the service is (not) ready."""
        if self._phase == "serving" and self._holds:
            return next(iter(self._holds))
        return self._phase

    def set_ready(self) -> None:
        """Serving (ready unless something holds it back)."""
        self._phase = "serving"

    def set_not_ready(self, reason: str) -> None:
        """Not ready for `reason` (a phase such as shutting down) until `set_ready`."""
        self._phase = reason

    def hold(self, reason: str) -> None:
        """Not ready for `reason` until `release(reason)`."""
        self._holds[reason] = None

    def release(self, reason: str) -> None:
        """End the hold for `reason`; no effect when it held nothing."""
        self._holds.pop(reason, None)

    def held(self, reason: str) -> bool:
        """Whether `reason` currently holds the service back."""
        return reason in self._holds


def build_http_app(
    metrics: Metrics,
    readiness: Readiness,
    webhook_handler: WebhookHandler | None = None,
    *,
    client_max_size: int = 1024 * 1024,
) -> web.Application:
    """`GET /healthz` (the process is up), `GET /readyz` (it is serving), `GET /metrics`, and, when a
    handler is given, `POST /webhooks/telnyx`."""

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_request: web.Request) -> web.Response:
        return web.json_response(
            {"status": "ready" if readiness.ready else "not ready", "reason": readiness.reason},
            status=200 if readiness.ready else 503,
        )

    async def metrics_page(_request: web.Request) -> web.Response:
        response = web.Response(body=metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response

    # The webhook handler enforces its own, usually smaller, body limit; this is only the outer bound. Each
    # handler reports to the connection guard of a `GuardedSite` and applies its body timeout. (aiohttp's own
    # answers, 404 and 405, run no handler: the header timeout bounds such a connection.)
    app = web.Application(client_max_size=client_max_size)
    app.router.add_get("/healthz", _guarded(healthz))
    app.router.add_get("/readyz", _guarded(readyz))
    app.router.add_get("/metrics", _guarded(metrics_page))
    if webhook_handler is not None:
        app.router.add_post(WEBHOOK_PATH, _guarded(webhook_handler))
    return app
