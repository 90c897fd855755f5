"""voicesvc on the embedded sandbox: what `voicesvc serve` (and `make run`) does without a Telnyx API key.

The sandbox is started first and handed to the service as its `Upstream` (base URL, API key, the key its
webhooks are signed with); once the service listens, the sandbox is told where to deliver webhooks.
The service itself never knows it talks to an emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import structlog

from voicesvc.config import ListenError, Settings, Upstream, parse_listen
from voicesvc.sandbox import Sandbox, SandboxConfig
from voicesvc.server.app import VoiceService, run_until_signal

__all__ = ["Embedded", "embedded", "new_sandbox_config", "serve_embedded"]

log = structlog.get_logger("voicesvc.server")


def new_sandbox_config(settings: Settings) -> SandboxConfig:
    """The embedded sandbox's configuration, with its API key chosen now (so logging can redact it first)."""
    return SandboxConfig(
        api_key="KEY_sandbox_" + secrets.token_urlsafe(24), webhook_url=settings.sandbox.webhook_url
    )


@dataclass(frozen=True)
class Embedded:
    """A running service and the sandbox standing in for Telnyx behind it."""

    service: VoiceService
    sandbox: Sandbox


@contextlib.asynccontextmanager
async def embedded(
    settings: Settings, sandbox_config: SandboxConfig | None = None
) -> AsyncIterator[Embedded]:
    """Start the sandbox, then the service in front of it; stop both (service first) on exit."""
    config = sandbox_config if sandbox_config is not None else new_sandbox_config(settings)
    host, port = parse_listen(settings.sandbox.listen)
    async with contextlib.AsyncExitStack() as stack:
        sandbox = Sandbox(config)
        try:
            base_url = await sandbox.start(host, port)
        except OSError as exc:
            listen = settings.sandbox.listen
            reason = exc.strerror or str(exc)
            raise ListenError(listen, "VOICESVC_SANDBOX_LISTEN", "--sandbox-listen", reason) from None
        stack.push_async_callback(sandbox.stop)
        # A warning, so it shows at every log level: a production deployment that lost its key must not
        # quietly run against the emulator.
        log.warning(
            "embedded_sandbox",
            base_url=base_url,
            message="TELNYX_API_KEY is not set: serving against the embedded Telnyx sandbox",
        )
        upstream = Upstream(
            base_url,
            sandbox.api_key,
            (*settings.webhooks.public_keys, sandbox.public_key_b64),
            name="sandbox",
        )
        service = await stack.enter_async_context(VoiceService(settings, upstream))
        if config.webhook_url is None:
            sandbox.deliver_webhooks_to(service.webhook_url)
        yield Embedded(service, sandbox)


async def serve_embedded(settings: Settings, sandbox_config: SandboxConfig | None = None) -> None:
    """Serve on the embedded sandbox until SIGTERM or SIGINT."""

    async def run(stop: asyncio.Event) -> None:
        async with embedded(settings, sandbox_config):
            await stop.wait()

    await run_until_signal(run)
