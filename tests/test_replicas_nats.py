"""Two `voicesvc serve` processes sharing one NATS JetStream event log.

A webhook accepted by either replica reaches the subscribers of both, and a subscriber whose replica is
killed resumes on the other one from its last cursor without missing or repeating an event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import aiohttp
import grpc
import pytest

from tests.support.events import Watcher, WebhookPoster, webhook_body
from tests.support.nats import NatsServer
from tests.support.voicesvc_process import ServerProcess, start_server, stop_server
from voicesvc.webhooks import Signer


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture
def signer() -> Signer:
    return Signer.generate()


@pytest.fixture
async def replicas(nats_server: NatsServer, signer: Signer) -> AsyncIterator[list[ServerProcess]]:
    env = {
        "VOICESVC_EVENTS_BACKEND": nats_server.url,
        "TELNYX_PUBLIC_KEY": signer.public_key_b64,
        "VOICESVC_GRACE_PERIOD": "1",
    }
    started = await asyncio.gather(
        asyncio.to_thread(start_server, env), asyncio.to_thread(start_server, env), return_exceptions=True
    )
    servers = [s for s in started if isinstance(s, ServerProcess)]
    try:
        for outcome in started:
            if isinstance(outcome, BaseException):
                raise outcome
        yield servers
    finally:
        await asyncio.gather(*(asyncio.to_thread(stop_server, s) for s in servers))


async def test_webhooks_reach_subscribers_of_both_replicas_and_a_subscriber_fails_over(
    replicas: list[ServerProcess], signer: Signer
) -> None:
    a, b = replicas
    async with (
        aiohttp.ClientSession() as http,
        grpc.aio.insecure_channel(a.target) as channel_a,
        grpc.aio.insecure_channel(b.target) as channel_b,
    ):
        to_a, to_b = WebhookPoster(http, a.http_url, signer), WebhookPoster(http, b.http_url, signer)
        on_a = await Watcher.open(channel_a, event_types=["call."])
        on_b = await Watcher.open(channel_b, event_types=["call."])

        # Accepted by either replica, seen by the subscribers of both, in one order.
        sent = [(await to_a.deliver("call.answered", n=1))[0], (await to_b.deliver("call.answered", n=2))[0]]
        # A redelivery to the other replica is recognised as the same event.
        again, _ = webhook_body("call.answered", {"n": 1}, event_id=sent[0], attempt=2)
        status, answer = await to_b.post_signed(again)
        assert status == 200
        assert answer["duplicate"] is True
        sent.append((await to_b.deliver("call.answered", n=3))[0])
        seen_a = [e.id for e in await on_a.events_until(sent[-1])]
        assert seen_a == sent
        assert [e.id for e in await on_b.events_until(sent[-1])] == sent

        # Events keep arriving (at B) before, during and after A's death and the subscriber's move.
        async def publish(count: int) -> list[str]:
            ids = []
            for n in range(count):
                ids.append((await to_b.deliver("call.dtmf.received", digit=str(n % 10)))[0])
                await asyncio.sleep(0.01)
            return ids

        publisher = asyncio.create_task(publish(40))
        seen_a += [(await on_a.event()).id for _ in range(3)]
        a.process.kill()
        # The subscriber reads whatever A still delivers, then the stream fails.
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            while True:
                item = await on_a.read()
                if item.WhichOneof("kind") == "event":
                    seen_a.append(item.event.id)
        assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
        resumed = await Watcher.open(channel_b, event_types=["call."], after_cursor=on_a.last_cursor)
        sent += await publisher
        sent.append((await to_b.deliver("call.hangup"))[0])
        seen_a += [e.id for e in await resumed.events_until(sent[-1])]

        assert seen_a == sent
        assert len(set(seen_a)) == len(seen_a)
        assert [e.id for e in await on_b.events_until(sent[-1])] == sent[3:]
