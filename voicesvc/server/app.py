"""Wiring and lifecycle of one voicesvc: the gRPC facade in front of an upstream, with its HTTP endpoints.

The service is handed its `Upstream` (Telnyx, or an emulator the caller started): it never starts one.

Start, each step entered on one exit stack: event log → the calls projection and the subscriptions
(both reading the log) → HTTP server (webhooks, health, metrics) → pooled Telnyx client → gRPC server
(all contract services, EventStream, Calls, Subscriptions, health, reflection) → ready.

Stop (SIGTERM/SIGINT): not ready and health NOT_SERVING → the gRPC server stops accepting calls → in-flight
unary RPCs finish within the grace period → streams end with UNAVAILABLE → the exit stack unwinds: the
Telnyx client, the HTTP server (webhooks keep being stored until here) and the event log close.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Self

import grpc
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc

from voicesvc.calls import CallProjection, CallStore
from voicesvc.config import ListenError, Settings, Upstream, check_bindable, format_listen, parse_listen
from voicesvc.events import EventLog, MemoryEventLog
from voicesvc.events.nats import NatsEventLog
from voicesvc.rest import TelnyxClient
from voicesvc.server.calls import CALLS_SERVICE, CallsServicer
from voicesvc.server.event_convert import EventConverter
from voicesvc.server.event_stream import EventStreamServicer
from voicesvc.server.health import HealthServicer
from voicesvc.server.http import WEBHOOK_PATH, Readiness, http_routes
from voicesvc.server.httpd import HttpServer
from voicesvc.server.interceptors import RpcInterceptor
from voicesvc.server.methods import MethodTable
from voicesvc.server.metrics import Metrics
from voicesvc.server.services import add_routes, service_names
from voicesvc.server.subscriptions import SubscriptionsServicer
from voicesvc.server.translate import Translator
from voicesvc.subscriptions import MemorySubscriptions, SubscriptionBackend
from voicesvc.subscriptions.nats import NatsSubscriptions
from voicesvc.v1 import calls_pb2_grpc, events_pb2, events_pb2_grpc, subscriptions_pb2, subscriptions_pb2_grpc
from voicesvc.webhooks import WebhookIngress, WebhookMetrics, WebhookVerifier

__all__ = ["EVENT_STREAM_SERVICE", "VoiceService", "make_event_log", "run_until_signal", "serve"]

log = structlog.get_logger("voicesvc.server")

EVENT_STREAM_SERVICE = events_pb2.DESCRIPTOR.services_by_name["EventStream"].full_name
SUBSCRIPTIONS_SERVICE = subscriptions_pb2.DESCRIPTOR.services_by_name["Subscriptions"].full_name
_LOG_SERVICES = (EVENT_STREAM_SERVICE, SUBSCRIPTIONS_SERVICE)
"""Services that cannot serve while the event log is unreachable."""
_LOG_UNAVAILABLE = "event log unavailable"
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def _dual_stack_socket(port: int) -> socket.socket:
    """A listening socket on every IPv6 and IPv4 address."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(("::", port))
    except OSError:
        sock.close()
        raise
    return sock


def _loop_name() -> str:
    """The event loop implementation serving this process (`asyncio` or `uvloop`)."""
    return type(asyncio.get_running_loop()).__module__.partition(".")[0]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise RuntimeError(f"cannot read {path}: {exc.strerror}") from None


_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", "[::]", "*"})


def _relay_credentials(settings: Settings) -> grpc.ChannelCredentials | None:
    """How this replica dials the others (TLS when its own port speaks TLS, presenting its certificate)."""
    tls = settings.tls
    if tls.cert is None or tls.key is None:
        return None
    roots = tls.peer_ca or tls.client_ca
    return grpc.ssl_channel_credentials(
        root_certificates=_read(roots) if roots is not None else None,
        private_key=_read(tls.key),
        certificate_chain=_read(tls.cert),
    )


def make_event_log(settings: Settings) -> EventLog:
    """The event log backend `settings.events` names."""
    events = settings.events
    if not events.uses_nats:
        return MemoryEventLog(
            max_events=events.max_events, max_age_s=events.max_age_s, dedup_window_s=settings.dedup_window_s
        )
    return NatsEventLog(
        events.backend,
        max_age_s=events.max_age_s,
        max_msgs=events.max_events,
        max_bytes=events.max_bytes,
        duplicate_window_s=settings.dedup_window_s,
        outage_grace_s=events.outage_grace_s,
    )


class VoiceService:
    """One running voicesvc: gRPC facade, HTTP endpoints and event log, in front of `upstream`.

    Without an `upstream`, Telnyx as `settings` configure it. `async with VoiceService(...)` starts and
    stops it; `start()` / `stop()` do the same by hand.
    """

    def __init__(self, settings: Settings, upstream: Upstream | None = None) -> None:
        self.settings = settings
        self.upstream = upstream if upstream is not None else Upstream.from_settings(settings)
        self.metrics = Metrics()
        self.readiness = Readiness()
        self.health = HealthServicer()
        self.interceptor = RpcInterceptor(
            self.metrics, settings.auth.tokens if settings.auth.enabled else None
        )
        self.event_log = make_event_log(settings)
        self.client = TelnyxClient(
            self.upstream.base_url,
            self.upstream.api_key,
            retry=settings.telnyx.retry,
            limits=settings.telnyx.limits,
            on_response=self.metrics.observe_upstream,
        )
        self.converter = EventConverter()
        self.event_stream = EventStreamServicer(self.event_log, converter=self.converter)
        self.translator = Translator(self.client)
        self.call_store = CallStore(
            ended_retention_s=settings.calls.ended_retention_s, max_calls=settings.calls.max_calls
        )
        self.projection = CallProjection(self.event_log, self.call_store)
        self.calls = CallsServicer(self.projection, self.event_log, self.translator, converter=self.converter)
        self.subscription_store: SubscriptionBackend = (
            NatsSubscriptions(self.event_log)
            if isinstance(self.event_log, NatsEventLog)
            else MemorySubscriptions(self.event_log)
        )
        self.subscriptions = SubscriptionsServicer(
            self.subscription_store, relay_credentials=_relay_credentials(settings)
        )
        self.grpc_server: grpc.aio.Server | None = None
        self.grpc_port = 0
        self.http_port = 0
        self._http_server: HttpServer | None = None
        self._grace_s = settings.serving.grace_period_s
        """What requests in progress get at shutdown (`stop` sets it)."""
        self._resources = contextlib.AsyncExitStack()
        self._served: list[str] = []
        self._background: set[asyncio.Task[None]] = set()
        self._started = False
        self._stopped = False

    # ------------------------------------------------------------------ addresses

    @property
    def grpc_target(self) -> str:
        """`host:port` a client dials (the real port when the configured one was 0)."""
        return format_listen(parse_listen(self.settings.serving.grpc_listen)[0], self.grpc_port)

    @property
    def advertised_target(self) -> str:
        """`host:port` at which the other replicas reach this one (`serving.advertise_address`, else the gRPC
        listen address, with this machine's host name in place of a wildcard host)."""
        serving = self.settings.serving
        if serving.advertise_address:
            return serving.advertise_address
        host = parse_listen(serving.grpc_listen)[0]
        if host in _WILDCARD_HOSTS:
            host = socket.gethostname()
        return format_listen(host, self.grpc_port)

    @property
    def http_url(self) -> str:
        """Root URL of the HTTP server."""
        return "http://" + format_listen(parse_listen(self.settings.serving.http_listen)[0], self.http_port)

    @property
    def http_open_connections(self) -> int:
        """Connections open on the HTTP port right now."""
        return self._http_server.open_connections if self._http_server is not None else 0

    @property
    def webhook_url(self) -> str:
        """Where Telnyx (or an emulator) must send webhooks."""
        return self.http_url + WEBHOOK_PATH

    # ------------------------------------------------------------------ start

    async def start(self) -> None:
        """Start everything; on failure, whatever was started is stopped again."""
        if self._started:
            raise RuntimeError("VoiceService.start() was already called")
        self._started = True
        try:
            self.event_log.on_availability(self._event_log_availability)
            await self._resources.enter_async_context(self.event_log)
            await self.projection.start()
            self._resources.push_async_callback(self.projection.close)
            await self.subscription_store.start()
            self._resources.push_async_callback(self.subscriptions.close)
            await self._start_http()
            await self._resources.enter_async_context(self.client)
            await self._start_grpc()
        except BaseException:
            await self._resources.aclose()
            raise
        self.readiness.set_ready()
        settings = self.settings
        log.info(
            "voicesvc_started",
            grpc=self.grpc_target,
            http=self.http_url,
            upstream=self.upstream.base_url,
            sandbox=self.upstream.name == "sandbox",
            tls=settings.tls.enabled,
            auth=settings.auth.enabled,
            events_backend="nats" if settings.events.uses_nats else "memory",
            loop=_loop_name(),
        )

    async def _start_http(self) -> None:
        settings = self.settings
        ingress = None
        keys = list(self.upstream.webhook_public_keys)
        if keys:
            verifier = WebhookVerifier(keys, tolerance_s=settings.webhooks.tolerance_s)
            ingress = WebhookIngress(
                verifier,
                self.event_log,
                max_body_bytes=settings.webhooks.max_body_bytes,
                metrics=WebhookMetrics(self.metrics.registry),
                measure=self.converter.delivered_size,
                max_event_bytes=settings.webhooks.max_event_bytes,
            )
        else:
            log.warning("webhooks_disabled", reason="no webhook public key configured (TELNYX_PUBLIC_KEY)")
        serving = settings.serving
        server = HttpServer(
            http_routes(self.metrics, self.readiness, ingress),
            self.metrics,
            header_timeout_s=serving.http_header_timeout_s,
            body_timeout_s=serving.http_body_timeout_s,
            max_connections=serving.http_max_connections,
        )
        host, port = parse_listen(serving.http_listen)
        try:
            # As gRPC does for `[::]`, take IPv4 connections too (a plain IPv6 socket would refuse them).
            sock = _dual_stack_socket(port) if host == "::" else None
            await server.start(host, port, sock=sock)
        except OSError as exc:
            raise ListenError(
                serving.http_listen,
                "VOICESVC_HTTP_LISTEN",
                "--http-listen",
                exc.strerror or str(exc),
            ) from None
        self._resources.push_async_callback(lambda: server.close(self._grace_s))
        self.http_port = server.port
        self._http_server = server

    async def _start_grpc(self) -> None:
        settings = self.settings
        options = [
            ("grpc.so_reuseport", 0),
            # Subscribers of a failed replica reconnect all at once: let thousands of new calls queue instead
            # of having gRPC cancel every call beyond its default backlog of 1000.
            ("grpc.server.max_pending_requests", 20_000),
            # Clients' keepalive pings (every 30 s from voicesvc's clients) never make the server hang up.
            ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
            ("grpc.http2.max_ping_strikes", 0),
        ]
        server = grpc.aio.server(options=options)
        # Every service goes into one table served as one generic handler (see `voicesvc.server.methods`),
        # each handler wrapped by the interceptor as it goes in.
        methods = MethodTable(self.interceptor.wrap)
        add_routes(methods, self.translator)
        events_pb2_grpc.add_EventStreamServicer_to_server(self.event_stream, methods)
        calls_pb2_grpc.add_CallsServicer_to_server(self.calls, methods)
        subscriptions_pb2_grpc.add_SubscriptionsServicer_to_server(self.subscriptions, methods)
        served = [*service_names(), EVENT_STREAM_SERVICE, CALLS_SERVICE, SUBSCRIPTIONS_SERVICE]
        health_pb2_grpc.add_HealthServicer_to_server(self.health, methods)
        health_service = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
        reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
            reflection.aio.ReflectionServicer([*served, health_service, reflection.SERVICE_NAME]), methods
        )
        server.add_generic_rpc_handlers((methods,))
        address = settings.serving.grpc_listen
        check_bindable(address, "VOICESVC_GRPC_LISTEN", "--grpc-listen")
        tls = settings.tls
        if tls.cert is not None and tls.key is not None:
            client_ca = _read(tls.client_ca) if tls.client_ca is not None else None
            credentials = grpc.ssl_server_credentials(
                [(_read(tls.key), _read(tls.cert))],
                root_certificates=client_ca,
                require_client_auth=client_ca is not None,
            )
            self.grpc_port = server.add_secure_port(address, credentials)
        else:
            self.grpc_port = server.add_insecure_port(address)
        await server.start()
        if isinstance(self.subscription_store, NatsSubscriptions):
            # Where the other replicas relay the members of the subscriptions this one leads.
            self.subscription_store.address = self.advertised_target
        self.grpc_server = server
        # Unwound only when start fails or stop() did not run: stop() ends the server gracefully first.
        self._resources.push_async_callback(server.stop, 0)
        self._served = served
        for name in ["", *served]:
            # The event log may have gone away while the rest was starting.
            down = name in _LOG_SERVICES and self.readiness.held(_LOG_UNAVAILABLE)
            await self.health.set(name, _NOT_SERVING if down else _SERVING)

    def _event_log_availability(self, available: bool) -> None:
        """While the event log is unreachable, webhooks cannot be stored and streams cannot be opened: say so
        in `/readyz` (webhook load balancers move on) and in the EventStream and Subscriptions health
        statuses (the other services keep serving)."""
        if available:
            self.readiness.release(_LOG_UNAVAILABLE)
        else:
            self.readiness.hold(_LOG_UNAVAILABLE)
        status = _SERVING if available else _NOT_SERVING
        for name in _LOG_SERVICES:
            if name in self._served:
                task = asyncio.get_running_loop().create_task(self.health.set(name, status))
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    # ------------------------------------------------------------------ stop

    async def stop(self, grace_s: float | None = None) -> None:
        """Graceful shutdown; in-flight RPCs get `grace_s` seconds (default: the configured grace period)."""
        if self._stopped:
            return
        self._stopped = True
        grace = self._grace_s = self.settings.serving.grace_period_s if grace_s is None else grace_s
        self.readiness.set_not_ready("shutting down")
        log.info("shutting_down", grace_s=grace, in_flight=self.interceptor.inflight.count)
        server = self.grpc_server
        if server is not None:
            await self.health.enter_graceful_shutdown()
            stopping = asyncio.create_task(server.stop(grace))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await self.interceptor.inflight.wait_idle()
            # Unary calls are done (or out of time). Streams never finish on their own: end them so clients
            # reconnect elsewhere (WatchEvents with its own resume hint, then any other stream).
            await self.event_stream.close()
            await self.calls.close()
            await self.subscriptions.close()
            self.interceptor.end_streams()
            await stopping
        await self._resources.aclose()
        log.info("stopped")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


async def run_until_signal(run: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Call `run(stop)` with an event that SIGTERM or SIGINT sets; `run` starts, waits for it and stops."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal() -> None:
        if stop.is_set():
            log.info("already_shutting_down")
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        await run(stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def serve(settings: Settings, upstream: Upstream | None = None) -> None:
    """Serve in front of `upstream` (default: Telnyx as configured) until SIGTERM or SIGINT."""

    async def run(stop: asyncio.Event) -> None:
        async with VoiceService(settings, upstream):
            await stop.wait()

    await run_until_signal(run)
