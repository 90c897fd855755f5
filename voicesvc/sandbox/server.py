"""`Sandbox`: the emulator as an object — build the aiohttp app, start it on a port, stop it."""

from __future__ import annotations

import secrets
from typing import Self

from aiohttp import web

from voicesvc.sandbox.admin import AdminApi
from voicesvc.sandbox.config import SandboxConfig
from voicesvc.sandbox.delivery import WebhookDispatcher, WebhookRetryPolicy, webhook_backoff
from voicesvc.sandbox.engine import Engine
from voicesvc.sandbox.faults import FaultInjector, FaultRule
from voicesvc.sandbox.journal import RequestJournal
from voicesvc.sandbox.rest_api import PREFIX, DroppedConnection, RestApi
from voicesvc.webhooks.sign import Signer

_STOP_TIMEOUT_S = 1.0


class Sandbox:
    """A running (or ready to run) Telnyx Voice API emulator.

    `await Sandbox(config).start("127.0.0.1", 0)` answers the base URL (`http://host:port/v2`),
    which is what a Telnyx client is pointed at. Tests reach the state directly through
    `engine`, `journal`, `faults` and `dispatcher`, or over HTTP through the admin API.
    """

    def __init__(self, config: SandboxConfig | None = None, fault_rules: list[FaultRule] | None = None):
        self.config = config or SandboxConfig()
        self.api_key = self.config.api_key or "KEY_sandbox_" + secrets.token_urlsafe(24)
        self.signer = Signer(self.config.private_key) if self.config.private_key else Signer.generate()
        self.faults = FaultInjector(self.config.seed)
        self._initial_faults = list(fault_rules or [])
        for rule in self._initial_faults:
            self.faults.add(rule)
        self.journal = RequestJournal()
        self.dispatcher = WebhookDispatcher(
            self.signer,
            self.faults,
            standard_webhooks=self.config.standard_webhooks,
            policy=WebhookRetryPolicy(
                max_attempts=self.config.webhook_attempts,
                backoff=webhook_backoff(self.config.webhook_backoff_s),
                timeout_s=self.config.webhook_timeout_s,
            ),
        )
        self.engine = Engine(self.config, self.dispatcher)
        self.rest = RestApi(self.engine, self.faults, self.journal, self.api_key)
        self.admin = AdminApi(self)
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

    @property
    def public_key_b64(self) -> str:
        """The base64 Ed25519 public key that verifies this sandbox's webhooks."""
        return self.signer.public_key_b64

    @property
    def base_url(self) -> str:
        """`http://host:port/v2` once started."""
        if self._base_url is None:
            raise RuntimeError("the sandbox is not running")
        return self._base_url

    @property
    def executions(self) -> dict[tuple[str, str], int]:
        """How often each command really ran: `{(call_control_id, command name): count}`."""
        return dict(self.engine.executions)

    @property
    def admin_url(self) -> str:
        """`http://host:port/_sandbox` once started."""
        return self.base_url[: -len(PREFIX)] + "/_sandbox"

    def make_app(self) -> web.Application:
        """The aiohttp application serving `/v2/…` and `/_sandbox/…`."""
        app = web.Application(middlewares=[self.admin.errors], client_max_size=4 * 1024 * 1024)
        app.add_routes(self.admin.routes())
        app.router.add_route("*", PREFIX + "{tail:(/.*)?}", self._rest)
        return app

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self.rest.handle(request)
        except (DroppedConnection, ConnectionResetError):
            # The transport is closed (by a fault, or by a client that gave up, e.g. at its deadline): this
            # response is never written.
            return web.Response(status=499)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 picks a free port) and answer the base URL."""
        await self.dispatcher.start()
        # Requests still running at stop (say, sleeping in a latency fault) get a second, not a minute.
        self._runner = web.AppRunner(
            self.make_app(), access_log=None, handle_signals=False, shutdown_timeout=_STOP_TIMEOUT_S
        )
        try:
            await self._runner.setup()
            site = web.TCPSite(self._runner, host, port)
            await site.start()
        except BaseException:
            await self.dispatcher.stop()
            await self._runner.cleanup()
            self._runner = None
            raise
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        bound_host, bound_port = sockets[0].getsockname()[:2] if sockets else (host, port)
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        self._base_url = f"http://{shown}:{bound_port}{PREFIX}"
        return self._base_url

    def deliver_webhooks_to(self, url: str) -> None:
        """Send the webhooks of calls with no URL of their own (command or application) to `url`."""
        self.config.webhook_url = url

    async def stop(self) -> None:
        """Stop serving, cancel call progressions and pending webhook deliveries."""
        # Requests still in progress finish first (within a second): they may queue webhooks.
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.engine.stop()
        await self.dispatcher.stop()

    async def reset(self) -> None:
        """Back to a blank state (keys and settings stay)."""
        await self.engine.reset()
        self.journal.clear()
        self.dispatcher.reset()
        self.faults.reset()
        for rule in self._initial_faults:
            rule.hits = 0
            self.faults.add(rule)

    async def __aenter__(self) -> Self:
        if self._base_url is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
