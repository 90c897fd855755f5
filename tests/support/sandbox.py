"""Helpers for the sandbox suites: a running sandbox, an authenticated client, a webhook receiver."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from tests.support.reference import reference
from voicesvc.sandbox import Sandbox, SandboxConfig

FAST: dict[str, Any] = {
    "answer_delay_s": 0.05,
    "media_delay_s": 0.02,
    "webhook_backoff_s": 0.01,
    "webhook_timeout_s": 2.0,
}


def fast_config(**overrides: Any) -> SandboxConfig:
    """A config whose calls and webhooks move quickly."""
    return SandboxConfig(**{**FAST, **overrides})


@dataclass
class Reply:
    """An HTTP answer: status, parsed JSON (or None) and headers."""

    status: int
    body: Any
    headers: dict[str, str]


class Api:
    """A small HTTP client for the sandbox's `/v2` and `/_sandbox` APIs."""

    def __init__(self, sandbox: Sandbox, session: aiohttp.ClientSession):
        self.sandbox = sandbox
        self.session = session

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Any = None,
        key: str | None = "default",
        raw: bytes | None = None,
    ) -> Reply:
        headers = {}
        if key == "default":
            key = self.sandbox.api_key
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        url = self.sandbox.base_url + path
        kwargs: dict[str, Any] = {"headers": headers, "params": params}
        if raw is not None:
            kwargs["data"] = raw
            headers["Content-Type"] = "application/json"
        elif json_body is not None:
            kwargs["json"] = json_body
        async with self.session.request(method, url, **kwargs) as resp:
            text = await resp.text()
            body = json.loads(text) if text else None
            return Reply(resp.status, body, dict(resp.headers))

    async def admin(self, method: str, path: str, json_body: Any = None, params: Any = None) -> Reply:
        url = self.sandbox.admin_url + path
        async with self.session.request(method, url, json=json_body, params=params) as resp:
            text = await resp.text()
            return Reply(resp.status, json.loads(text) if text else None, dict(resp.headers))


@dataclass
class Received:
    """One webhook POST as the receiver saw it."""

    headers: dict[str, str]
    raw: bytes
    body: dict[str, Any]

    @property
    def event(self) -> dict[str, Any]:
        return self.body["data"]

    @property
    def event_type(self) -> str:
        return self.body["data"]["event_type"]


@dataclass
class Receiver:
    """An aiohttp webhook endpoint on a free loopback port that records every POST."""

    statuses: list[int] = field(default_factory=list)  # answers for the first POSTs, then 200
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition | None = None

    async def start(self) -> Receiver:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_post("/hooks", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hooks"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.received.append(Received(dict(request.headers), raw, json.loads(raw)))
        status = self.statuses.pop(0) if self.statuses else 200
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()
        return web.Response(status=status)

    def events(self, call_control_id: str | None = None, ok_only: bool = True) -> list[dict[str, Any]]:
        """Events received (one per event id unless `ok_only` is False), optionally of one leg."""
        seen: set[str] = set()
        out = []
        for item in self.received:
            ev = item.event
            if call_control_id and ev["payload"].get("call_control_id") != call_control_id:
                continue
            if ok_only and ev["id"] in seen:
                continue
            seen.add(ev["id"])
            out.append(ev)
        return out

    def types(self, call_control_id: str | None = None) -> list[str]:
        return [e["event_type"] for e in self.events(call_control_id)]

    async def wait_for(self, predicate: Callable[[Receiver], bool], limit: float = 5.0) -> None:
        assert self._changed is not None
        async with asyncio.timeout(limit):
            async with self._changed:
                await self._changed.wait_for(lambda: predicate(self))


def verify_telnyx(public_key_b64: str, headers: dict[str, str], raw: bytes) -> bool:
    """Check `telnyx-signature-ed25519` over `"{telnyx-timestamp}|" + raw body` with PyNaCl."""
    key = VerifyKey(base64.b64decode(public_key_b64))
    message = headers["telnyx-timestamp"].encode() + b"|" + raw
    try:
        key.verify(message, base64.b64decode(headers["telnyx-signature-ed25519"]))
    except BadSignatureError:
        return False
    return True


def verify_standard(public_key_b64: str, headers: dict[str, str], raw: bytes) -> bool:
    """Check `webhook-signature: v1a,<sig>` over `"{webhook-id}.{webhook-timestamp}." + raw body`."""
    key = VerifyKey(base64.b64decode(public_key_b64))
    version, _, sig = headers["webhook-signature"].partition(",")
    if version != "v1a":
        return False
    message = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + raw
    try:
        key.verify(message, base64.b64decode(sig))
    except BadSignatureError:
        return False
    return True


def event_schema(event_type: str) -> dict[str, Any]:
    """The reference's schema of the `data` object of one webhook event type."""
    for item in reference()["webhook_events"]:
        if item["event_type"] == event_type:
            return item["data"]
    raise KeyError(event_type)


def payload_keys(event_type: str) -> set[str]:
    """Payload keys the reference lists for an event type."""
    return set(event_schema(event_type)["properties"]["payload"]["properties"])


async def wait_until(predicate: Callable[[], object], limit: float = 5.0) -> None:
    """Poll `predicate` (state changed by the sandbox's own tasks) until it holds."""
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 - the state has no event to wait on
            await asyncio.sleep(0.01)
