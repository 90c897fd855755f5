"""A real voicesvc (gRPC + HTTP) in front of a real sandbox, on free loopback ports, for end-to-end suites.

```python
async with start_stack() as stack:
    stub = call_control_pb2_grpc.CallControlStub(stack.channel)
    await stub.DialCall(...)
    stack.journal()          # what reached the sandbox
```
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import grpc
from aiohttp import web

from voicesvc.config import Settings, Upstream
from voicesvc.sandbox import FaultRule, Sandbox, SandboxConfig
from voicesvc.sandbox.journal import JournalEntry
from voicesvc.server.app import VoiceService

API_KEY = "KEY_stack_test_0123456789abcdef"
FAST_SANDBOX: dict[str, Any] = {
    "answer_delay_s": 0.05,
    "media_delay_s": 0.02,
    "webhook_backoff_s": 0.01,
    "webhook_timeout_s": 2.0,
}
FAST_SERVICE: dict[str, Any] = {
    "serving.grpc_listen": "127.0.0.1:0",
    "serving.http_listen": "127.0.0.1:0",
    "serving.grace_period_s": 5.0,
    "sandbox.listen": "127.0.0.1:0",
    "telnyx.retry_initial_backoff_s": 0.01,
    "telnyx.retry_max_backoff_s": 0.05,
    "telnyx.connect_timeout_s": 2.0,
    "telnyx.request_timeout_s": 5.0,
}
"""`Settings.from_values` keys of a service that starts on free ports and retries quickly."""


@dataclass
class SandboxReply:
    """One answer the sandbox gave on `/v2` (recorded by the stack's spy)."""

    method: str
    path: str
    status: int
    body: Any


@dataclass
class Stack:
    """A running sandbox and voicesvc, a gRPC channel to it and an HTTP session."""

    sandbox: Sandbox
    service: VoiceService
    settings: Settings
    channel: grpc.aio.Channel
    http: aiohttp.ClientSession
    replies: list[SandboxReply] = field(default_factory=list)

    @property
    def http_url(self) -> str:
        return self.service.http_url

    def journal(self, path: str | None = None, method: str | None = None) -> list[JournalEntry]:
        """Requests the sandbox received, oldest first (`path` is a substring of the path)."""
        return self.sandbox.journal.entries(path, method)

    def executions(self, call_control_id: str, command: str) -> int:
        """How often the sandbox really executed a command on a leg."""
        return self.sandbox.engine.executions[(call_control_id, command)]

    def add_fault(self, **rule: Any) -> FaultRule:
        """Inject a fault (see `voicesvc.sandbox.faults`)."""
        return self.sandbox.faults.add(FaultRule(**rule))

    def dial_direct(
        self, connection_id: str = "conn-stack", to: str = "+15550100001", *, answered: bool = True
    ) -> str:
        """A live outbound leg created inside the sandbox, without any request in the journal; answered at
        once unless `answered=False` (then it rings for the sandbox's answer delay, and refuses media)."""
        engine = self.sandbox.engine
        data = engine.dial({"connection_id": connection_id, "from": "+15550100000", "to": to})
        call_control_id = str(data["data"]["call_control_id"])
        if answered:
            engine.answer(engine.calls[call_control_id])
        return call_control_id

    def inbound_direct(self, connection_id: str = "conn-stack") -> str:
        """A ringing incoming leg (what AnswerCall/RejectCall act on)."""
        return self.sandbox.engine.inbound({"connection_id": connection_id}).call_control_id

    def create_application_direct(self, name: str = "stack-app") -> str:
        """A stored call control application, created inside the sandbox."""
        app = self.sandbox.engine.apps.create(
            {"application_name": name, "webhook_event_url": "https://example.com/hooks"}
        )
        return str(app["id"])

    async def get(self, path: str) -> tuple[int, str]:
        """GET on the service's HTTP server: (status, body text)."""
        async with self.http.get(self.http_url + path) as resp:
            return resp.status, await resp.text()


async def eventually(check: Callable[[], object | Awaitable[object]], limit: float = 5.0) -> None:
    """Poll `check` (sync or async) until it answers something truthy; fail after `limit` seconds."""
    async with asyncio.timeout(limit):
        while True:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.005)


def _spy_on_replies(sandbox: Sandbox, replies: list[SandboxReply]) -> None:
    """Record every `/v2` answer of the sandbox (the journal keeps requests, not response bodies)."""
    original = sandbox.rest.handle

    async def handle(request: web.Request) -> web.StreamResponse:
        response = await original(request)
        body: Any = None
        if isinstance(response, web.Response) and response.body is not None:
            raw = response.body
            with contextlib.suppress(ValueError, TypeError):
                body = json.loads(raw if isinstance(raw, bytes | str) else bytes(raw))  # type: ignore[arg-type]
        replies.append(SandboxReply(request.method, request.path, response.status, body))
        return response

    sandbox.rest.handle = handle  # type: ignore[method-assign]


@contextlib.asynccontextmanager
async def start_stack(
    *,
    sandbox_config: SandboxConfig | None = None,
    **overrides: Any,
) -> AsyncIterator[Stack]:
    """Start a sandbox (known API key, fast calls) and a voicesvc in front of it; stop both after.

    `overrides` are `Settings.from_values` keys with `__` for the dot: `telnyx__retry_max_attempts=1`.
    """
    config = sandbox_config or SandboxConfig(api_key=API_KEY, **FAST_SANDBOX)
    sandbox = Sandbox(config)
    replies: list[SandboxReply] = []
    _spy_on_replies(sandbox, replies)
    base_url = await sandbox.start("127.0.0.1", 0)
    values = {**FAST_SERVICE, **{key.replace("__", ".", 1): value for key, value in overrides.items()}}
    upstream = Upstream(
        str(values.pop("telnyx.base_url", base_url)),
        str(values.pop("telnyx.api_key", sandbox.api_key)),
        tuple(values.pop("webhooks.public_keys", (sandbox.public_key_b64,))),
    )
    settings = Settings.from_values(values)
    service = VoiceService(settings, upstream)
    try:
        await service.start()
    except BaseException:
        await sandbox.stop()
        raise
    if sandbox.config.webhook_url is None:
        sandbox.deliver_webhooks_to(service.webhook_url)
    channel = grpc.aio.insecure_channel(service.grpc_target)
    http = aiohttp.ClientSession()
    stack = Stack(sandbox, service, settings, channel, http, replies)
    try:
        yield stack
    finally:
        await http.close()
        await channel.close()
        await service.stop(grace_s=0)
        await sandbox.stop()
