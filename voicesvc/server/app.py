"""Wiring and lifecycle of `voicesvc serve`.

Start: event log → HTTP server (webhooks, health, metrics) → embedded sandbox when no API key is set →
pooled Telnyx client → gRPC server (all contract services, EventStream, health, reflection) → ready.

Stop (SIGTERM/SIGINT): not ready and health NOT_SERVING → the gRPC server stops accepting calls → in-flight
unary RPCs finish within the grace period → streams end with UNAVAILABLE → the Telnyx client, the sandbox, the
HTTP server (webhooks keep being stored until here) and the event log close.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from pathlib import Path
from urllib.parse import urlsplit

import grpc
import structlog
from aiohttp import web
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from voicesvc.config import Settings, format_listen, parse_listen
from voicesvc.events import EventLog, MemoryEventLog
from voicesvc.events.nats import NatsEventLog
from voicesvc.rest import RetryPolicy, TelnyxClient
from voicesvc.sandbox import Sandbox, SandboxConfig
from voicesvc.server.event_stream import EventStreamServicer
from voicesvc.server.health import HealthServicer
from voicesvc.server.http import WEBHOOK_PATH, Readiness, build_http_app
from voicesvc.server.interceptors import AuthInterceptor, ObservabilityInterceptor
from voicesvc.server.logging import REDACTOR
from voicesvc.server.metrics import Metrics
from voicesvc.server.services import generic_handlers, service_names
from voicesvc.server.translate import Translator
from voicesvc.v1 import events_pb2, events_pb2_grpc
from voicesvc.webhooks import WebhookMetrics, WebhookVerifier, make_webhook_handler

log = structlog.get_logger("voicesvc.server")

EVENT_STREAM_SERVICE = events_pb2.DESCRIPTOR.services_by_name["EventStream"].full_name
_SANDBOX_PREFIX = "/v2"
_LOG_UNAVAILABLE = "event log unavailable"


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


def _free_port(host: str) -> int:
    """A port that is free right now on `host` (used to announce the sandbox URL before it starts)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise RuntimeError(f"cannot read {path}: {exc.strerror}") from None


def make_event_log(settings: Settings) -> EventLog:
    """The event log backend `settings.events_backend` names."""
    if settings.events_backend == "memory":
        return MemoryEventLog(max_events=settings.events_max_events, max_age_s=settings.events_max_age)
    return NatsEventLog(
        settings.events_backend,
        max_age_s=settings.events_max_age,
        max_msgs=settings.events_max_events,
        max_bytes=settings.events_max_bytes,
        duplicate_window_s=settings.dedup_window,
        outage_grace_s=settings.events_outage_grace,
    )


class VoiceService:
    """One running voicesvc: gRPC facade, HTTP endpoints, event log and (without an API key) the sandbox.

    `sandbox_config` tunes the embedded sandbox (tests make its calls progress quickly).
    """

    def __init__(self, settings: Settings, *, sandbox_config: SandboxConfig | None = None) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.readiness = Readiness()
        self.health = HealthServicer()
        self.observability = ObservabilityInterceptor(self.metrics)
        self.sandbox: Sandbox | None = None
        self.client: TelnyxClient | None = None
        self.event_log: EventLog | None = None
        self.grpc_server: grpc.aio.Server | None = None
        self.event_stream: EventStreamServicer | None = None
        self.grpc_port = 0
        self.http_port = 0
        self._sandbox_config = sandbox_config
        self._http_runner: web.AppRunner | None = None
        self._served: list[str] = []
        self._background: set[asyncio.Task[None]] = set()
        self._stopped = False
        self._sandbox_started = False

    # ------------------------------------------------------------------ addresses

    @property
    def grpc_target(self) -> str:
        """`host:port` a client dials (the real port when the configured one was 0)."""
        return format_listen(parse_listen(self.settings.grpc_listen)[0], self.grpc_port)

    @property
    def http_url(self) -> str:
        """Root URL of the HTTP server."""
        return "http://" + format_listen(parse_listen(self.settings.http_listen)[0], self.http_port)

    @property
    def upstream_url(self) -> str:
        """The Telnyx API root in use (the sandbox's in sandbox mode)."""
        return self.sandbox.base_url if self.sandbox is not None else self.settings.api_base_url

    # ------------------------------------------------------------------ start

    async def start(self) -> None:
        """Start everything; on failure, whatever was started is stopped again."""
        settings = self.settings
        REDACTOR.add(settings.api_key)
        nats_url = urlsplit(settings.events_backend)
        REDACTOR.add(nats_url.password)
        if nats_url.password is None:
            REDACTOR.add(nats_url.username)  # a token alone sits where a user name would
        for token in settings.auth_tokens:
            REDACTOR.add(token)
        try:
            sandbox_host, sandbox_port = parse_listen(settings.sandbox_listen)
            if settings.sandbox_mode:
                sandbox_port = sandbox_port or _free_port(sandbox_host)
                announced = f"http://{format_listen(sandbox_host, sandbox_port)}{_SANDBOX_PREFIX}"
                # A warning, so it shows at every log level: a production deployment that lost its key
                # must not quietly run against the emulator.
                log.warning(
                    "embedded_sandbox",
                    base_url=announced,
                    message="TELNYX_API_KEY is not set: serving against the embedded Telnyx sandbox",
                )
                self.sandbox = Sandbox(self._sandbox_config or SandboxConfig())
                REDACTOR.add(self.sandbox.api_key)
            self.event_log = make_event_log(settings)
            self.event_log.on_availability(self._event_log_availability)
            await self.event_log.start()
            await self._start_http()
            if self.sandbox is not None:
                if self.sandbox.config.webhook_url is None:
                    hook = settings.sandbox_webhook_url or self.http_url + WEBHOOK_PATH
                    self.sandbox.config.webhook_url = hook
                await self.sandbox.start(sandbox_host, sandbox_port)
                self._sandbox_started = True
            self.client = TelnyxClient(
                self.upstream_url,
                self.sandbox.api_key if self.sandbox is not None else str(settings.api_key),
                retry=RetryPolicy(
                    max_attempts=settings.retry_max_attempts,
                    initial_backoff=settings.retry_initial_backoff,
                    max_backoff=settings.retry_max_backoff,
                    max_retry_after=settings.retry_max_retry_after,
                ),
                connect_timeout=settings.connect_timeout,
                request_timeout=settings.request_timeout,
                max_connections=settings.max_connections,
                on_response=self.metrics.observe_upstream,
            )
            await self.client.start()
            await self._start_grpc()
        except BaseException:
            await self._close_resources()
            raise
        self.readiness.set_ready()
        log.info(
            "voicesvc_started",
            grpc=self.grpc_target,
            http=self.http_url,
            upstream=self.upstream_url,
            sandbox=self.sandbox is not None,
            tls=settings.tls_enabled,
            auth=bool(settings.auth_tokens),
            events_backend="memory" if settings.events_backend == "memory" else "nats",
        )

    def _public_keys(self) -> list[str]:
        keys = list(self.settings.webhook_public_keys)
        if self.sandbox is not None:
            keys.append(self.sandbox.public_key_b64)
        return keys

    async def _start_http(self) -> None:
        settings = self.settings
        handler = None
        keys = self._public_keys()
        if keys and self.event_log is not None:
            verifier = WebhookVerifier(keys, tolerance_s=settings.webhook_tolerance)
            handler = make_webhook_handler(
                verifier,
                self.event_log,
                max_body_bytes=settings.webhook_max_body_bytes,
                metrics=WebhookMetrics(self.metrics.registry),
            )
        else:
            log.warning("webhooks_disabled", reason="no webhook public key configured (TELNYX_PUBLIC_KEY)")
        app = build_http_app(
            self.metrics,
            self.readiness,
            handler,
            client_max_size=max(settings.webhook_max_body_bytes, 1024) + 1,
        )
        self._http_runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._http_runner.setup()
        host, port = parse_listen(settings.http_listen)
        site: web.BaseSite
        if host == "::":
            # As gRPC does for `[::]`, take IPv4 connections too (a plain IPv6 socket would refuse them).
            site = web.SockSite(self._http_runner, _dual_stack_socket(port))
        else:
            site = web.TCPSite(self._http_runner, host, port)
        await site.start()
        self.http_port = int(self._http_runner.addresses[0][1])

    async def _start_grpc(self) -> None:
        settings = self.settings
        assert self.client is not None and self.event_log is not None
        interceptors: list[grpc.aio.ServerInterceptor] = [self.observability]
        if settings.auth_tokens:
            interceptors.append(AuthInterceptor(settings.auth_tokens))
        # Subscribers of a failed replica reconnect all at once: let thousands of new calls queue instead of
        # having gRPC cancel every call beyond its default backlog of 1000.
        options = [
            ("grpc.so_reuseport", 0),
            ("grpc.server.max_pending_requests", 20_000),
            # Clients' keepalive pings (every 30 s from voicesvc's clients) never make the server hang up.
            ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
            ("grpc.http2.max_ping_strikes", 0),
        ]
        server = grpc.aio.server(interceptors=interceptors, options=options)
        self.grpc_server = server
        server.add_generic_rpc_handlers(generic_handlers(Translator(self.client)))
        self.event_stream = EventStreamServicer(self.event_log)
        events_pb2_grpc.add_EventStreamServicer_to_server(self.event_stream, server)
        served = [*service_names(), EVENT_STREAM_SERVICE]
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        health_service = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
        reflection.enable_server_reflection([*served, health_service, reflection.SERVICE_NAME], server)
        address = settings.grpc_listen
        if settings.tls_cert is not None and settings.tls_key is not None:
            client_ca = _read(settings.tls_client_ca) if settings.tls_client_ca is not None else None
            credentials = grpc.ssl_server_credentials(
                [(_read(settings.tls_key), _read(settings.tls_cert))],
                root_certificates=client_ca,
                require_client_auth=client_ca is not None,
            )
            self.grpc_port = server.add_secure_port(address, credentials)
        else:
            self.grpc_port = server.add_insecure_port(address)
        await server.start()
        self._served = served
        status = health_pb2.HealthCheckResponse
        for name in ["", *served]:
            # The event log may have gone away while the rest was starting.
            down = name == EVENT_STREAM_SERVICE and self.readiness.held(_LOG_UNAVAILABLE)
            await self.health.set(name, status.NOT_SERVING if down else status.SERVING)

    def _event_log_availability(self, available: bool) -> None:
        """While the event log is unreachable, webhooks cannot be stored and streams cannot be opened: say so
        in `/readyz` (webhook load balancers move on) and in the EventStream health status (the other
        services keep serving)."""
        if available:
            self.readiness.release(_LOG_UNAVAILABLE)
        else:
            self.readiness.hold(_LOG_UNAVAILABLE)
        if EVENT_STREAM_SERVICE in self._served:
            serving = health_pb2.HealthCheckResponse
            status = serving.SERVING if available else serving.NOT_SERVING
            task = asyncio.get_running_loop().create_task(self.health.set(EVENT_STREAM_SERVICE, status))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    # ------------------------------------------------------------------ stop

    async def stop(self, grace: float | None = None) -> None:
        """Graceful shutdown; in-flight RPCs get `grace` seconds (default: the configured grace period)."""
        if self._stopped:
            return
        self._stopped = True
        grace = self.settings.grace_period if grace is None else grace
        self.readiness.set_not_ready("shutting down")
        log.info("shutting_down", grace_s=grace, in_flight=self.observability.inflight.count)
        server = self.grpc_server
        if server is not None:
            await self.health.enter_graceful_shutdown()
            stopping = asyncio.create_task(server.stop(grace))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await self.observability.inflight.wait_idle()
            # Unary calls are done (or out of time). Streams never finish on their own: end them so clients
            # reconnect elsewhere (WatchEvents with its own resume hint, then any other stream).
            if self.event_stream is not None:
                await self.event_stream.close()
            self.observability.end_streams()
            await stopping
        await self._close_resources()
        log.info("stopped")

    async def _close_resources(self) -> None:
        if self.grpc_server is not None and not self._stopped:
            await self.grpc_server.stop(0)
        if self.client is not None:
            await self.client.close()
        # The sandbox before the HTTP server, so it has no webhooks left to deliver when that closes.
        if self.sandbox is not None and self._sandbox_started:
            await self.sandbox.stop()
            self._sandbox_started = False
        if self._http_runner is not None:
            await self._http_runner.cleanup()
            self._http_runner = None
        if self.event_log is not None:
            await self.event_log.close()


async def serve(settings: Settings, *, sandbox_config: SandboxConfig | None = None) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    service = VoiceService(settings, sandbox_config=sandbox_config)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal() -> None:
        if stop.is_set():
            log.info("already_shutting_down")
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        await service.start()
        await stop.wait()
        await service.stop()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
