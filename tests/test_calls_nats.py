"""Two replicas on one NATS JetStream log: the same calls on both, again after a restart, and commands whose
outcome webhook reaches the other replica."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest

from tests.support.nats import NatsServer
from tests.support.stack import API_KEY, FAST_SANDBOX, FAST_SERVICE, eventually
from tests.test_calls_service import dial_request
from voicesvc.config import Settings, Upstream
from voicesvc.sandbox import FaultRule, Sandbox, SandboxConfig
from voicesvc.server.app import VoiceService
from voicesvc.v1 import call_control_commands_pb2 as cmd_pb2
from voicesvc.v1 import call_control_pb2 as cc_pb2
from voicesvc.v1 import calls_pb2, calls_pb2_grpc


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    with NatsServer(tmp_path / "nats") as server:
        yield server


class Replicas:
    """One sandbox and two voicesvc replicas on one NATS log; the sandbox's webhooks all go to replica B."""

    def __init__(self, sandbox: Sandbox, settings: Settings, upstream: Upstream) -> None:
        self.sandbox = sandbox
        self.settings = settings
        self.upstream = upstream
        self.services: list[VoiceService] = []
        self.channels: list[grpc.aio.Channel] = []

    async def add(self) -> calls_pb2_grpc.CallsStub:
        service = VoiceService(self.settings, self.upstream)
        await service.start()
        self.services.append(service)
        channel = grpc.aio.insecure_channel(service.grpc_target)
        self.channels.append(channel)
        return calls_pb2_grpc.CallsStub(channel)

    async def stop(self, index: int) -> None:
        await self.channels[index].close()
        await self.services[index].stop(grace_s=0)

    async def close(self) -> None:
        for index in range(len(self.services)):
            with contextlib.suppress(Exception):
                await self.stop(index)
        await self.sandbox.stop()


@contextlib.asynccontextmanager
async def replicas(nats: NatsServer, *faults: FaultRule) -> AsyncIterator[Replicas]:
    sandbox = Sandbox(SandboxConfig(api_key=API_KEY, seed=5, **FAST_SANDBOX), list(faults))
    base_url = await sandbox.start("127.0.0.1", 0)
    upstream = Upstream(base_url, sandbox.api_key, (sandbox.public_key_b64,))
    settings = Settings.from_values({**FAST_SERVICE, "events.backend": nats.url})
    group = Replicas(sandbox, settings, upstream)
    try:
        yield group
    finally:
        await group.close()


async def everything(stub: calls_pb2_grpc.CallsStub) -> tuple[str, list[bytes]]:
    """Every call a replica lists (all pages), serialised, and the cursor of the last page."""
    calls: list[bytes] = []
    token, cursor = "", ""
    while True:
        page = await stub.ListCalls(calls_pb2.ListCallsRequest(page_size=7, page_token=token), timeout=10)
        calls += [c.SerializeToString(deterministic=True) for c in page.calls]
        token, cursor = page.next_page_token, page.cursor
        if not token:
            return cursor, calls


async def test_a_dial_through_one_replica_returns_the_outcome_the_other_received(
    nats_server: NatsServer,
) -> None:
    async with replicas(nats_server) as group:
        a = await group.add()
        await group.add()
        group.sandbox.deliver_webhooks_to(group.services[1].webhook_url)
        dialed = await a.ExecuteCommand(cmd_pb2.ExecuteCommandRequest(dial_call=dial_request()), timeout=10)
        assert dialed.outcome.event_type == "call.answered"
        ccid = dialed.dial_call.call_control_id
        spoke = await a.ExecuteCommand(
            cmd_pb2.ExecuteCommandRequest(
                speak_text=cc_pb2.SpeakTextRequest(call_control_id=ccid, payload="hi", voice="female")
            ),
            timeout=10,
        )
        assert spoke.outcome.call_speak_ended.status
        # Every webhook reached B only, and A's own projection has the call too.
        assert all(a.url == group.services[1].webhook_url for a in group.sandbox.dispatcher.attempts)
        call = await a.GetCall(calls_pb2.GetCallRequest(name=f"calls/{ccid}"), timeout=10)
        assert call.state == calls_pb2.CALL_STATE_ANSWERED
        with pytest.raises(grpc.aio.AioRpcError) as busy:
            await a.ExecuteCommand(
                cmd_pb2.ExecuteCommandRequest(dial_call=dial_request(to="+15550001486")), timeout=10
            )
        assert busy.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_replicas_list_the_same_calls_and_a_restarted_one_has_them_again(
    nats_server: NatsServer,
) -> None:
    faults = (
        FaultRule(kind="webhook_reorder", rate=0.2, hold_ms=50),
        FaultRule(kind="webhook_duplicate", rate=0.1, hold_ms=50),
    )
    async with replicas(nats_server, *faults) as group:
        stubs = [await group.add(), await group.add()]
        # Webhooks alternate between the replicas, as a load balancer would spread them.
        urls = [s.webhook_url for s in group.services]
        group.sandbox.engine.dispatcher.enqueue = _spread(group.sandbox.engine.dispatcher.enqueue, urls)  # type: ignore[method-assign, assignment]

        async def one(n: int) -> None:
            stub = stubs[n % 2]
            if n % 5 == 0:  # busy: initiated, then ended
                busy = cmd_pb2.ExecuteCommandRequest(dial_call=dial_request(to="+15550001486"))
                with pytest.raises(grpc.aio.AioRpcError) as ended:
                    await stub.ExecuteCommand(busy, timeout=10)
                assert ended.value.code() == grpc.StatusCode.FAILED_PRECONDITION
                return
            reply = await stub.ExecuteCommand(
                cmd_pb2.ExecuteCommandRequest(dial_call=dial_request()), timeout=10
            )
            if n % 3 == 0:
                hangup = cc_pb2.HangupCallRequest(call_control_id=reply.dial_call.call_control_id)
                await stub.ExecuteCommand(cmd_pb2.ExecuteCommandRequest(hangup_call=hangup), timeout=10)

        await asyncio.gather(*(one(n) for n in range(40)))
        await eventually(lambda: group.sandbox.dispatcher.pending == 0, limit=20)
        latest = (await group.services[0].event_log.bounds())[1]
        for service in group.services:
            await eventually(lambda service=service: service.call_store.seq == latest, limit=20)  # type: ignore[misc]
        on_a, on_b = await everything(stubs[0]), await everything(stubs[1])
        assert len(on_a[1]) == 40
        assert on_a == on_b

        await group.stop(0)
        restarted = await group.add()
        assert await everything(restarted) == on_b


def _spread(enqueue: object, urls: list[str]) -> object:
    """The dispatcher's `enqueue`, sending each call's webhooks to one of `urls` by turns per event."""
    turn = [0]

    def spread(key: str, event: dict[str, object], _urls: list[str], timeout_s: float | None = None) -> None:
        turn[0] += 1
        enqueue(key, event, [urls[turn[0] % len(urls)]], timeout_s)  # type: ignore[operator]

    return spread
