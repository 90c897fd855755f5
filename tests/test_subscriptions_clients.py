"""The Python client's worker-group helpers against a running voicesvc (memory backend, in process):
`client.subscribe` acks on return, nacks on raise and extends the deadline while the handler runs;
`client.pull` gives explicit acks and its member id."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from google.protobuf import duration_pb2

from tests.support.events import WebhookPoster
from tests.support.stack import Stack, eventually, start_stack
from voicesvc.client import VoiceClient
from voicesvc.v1 import events_pb2, subscriptions_pb2
from voicesvc.webhooks import Signer


class Env:
    def __init__(self, stack: Stack, poster: WebhookPoster, client: VoiceClient) -> None:
        self.stack = stack
        self.poster = poster
        self.client = client

    async def create(self, subscription_id: str, ack_deadline_s: float = 30.0) -> None:
        deadline = duration_pb2.Duration()
        deadline.FromNanoseconds(int(ack_deadline_s * 1e9))
        await self.client.subscriptions.CreateSubscription(
            subscriptions_pb2.CreateSubscriptionRequest(
                subscription_id=subscription_id,
                subscription=subscriptions_pb2.Subscription(ack_deadline=deadline),
            )
        )

    async def figures(self, subscription_id: str) -> subscriptions_pb2.Subscription:
        return await self.client.subscriptions.GetSubscription(
            subscriptions_pb2.GetSubscriptionRequest(name=f"subscriptions/{subscription_id}")
        )


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    signer = Signer.generate()
    async with (
        start_stack(webhooks__public_keys=(signer.public_key_b64,)) as stack,
        aiohttp.ClientSession() as http,
        VoiceClient(stack.service.grpc_target) as client,
    ):
        yield Env(stack, WebhookPoster(http, stack.http_url, signer), client)


async def test_subscribe_nacks_a_raising_handler_and_acks_the_retry(env: Env) -> None:
    await env.create("retry")
    calls: list[tuple[str, str]] = []

    async def handler(event: events_pb2.Event) -> None:
        calls.append((event.id, event.event_type))
        if len(calls) == 1:
            raise RuntimeError("the first attempt fails")

    worker = asyncio.create_task(env.client.subscribe("retry", handler, member_id="py-worker"))
    await eventually(lambda: _members(env, "retry", 1))
    first, _ = await env.poster.deliver("call.initiated", call_session_id="s-1")
    second, _ = await env.poster.deliver("call.answered", call_session_id="s-1")
    await eventually(lambda: _acked(env, "retry", 2))
    worker.cancel()
    # The failed event came back before the call's next one (per-call order), and nothing else is pending.
    assert calls == [(first, "call.initiated"), (first, "call.initiated"), (second, "call.answered")]
    figures = await env.figures("retry")
    assert (figures.outstanding, figures.backlog) == (0, 0)


async def test_subscribe_extends_the_deadline_of_a_slow_handler(env: Env) -> None:
    await env.create("slow", ack_deadline_s=1.0)
    seen: list[str] = []

    async def handler(event: events_pb2.Event) -> None:
        seen.append(event.id)
        await asyncio.sleep(2.5)  # well past the 1 s deadline: extended every half deadline meanwhile

    worker = asyncio.create_task(env.client.subscribe("slow", handler))
    await eventually(lambda: _members(env, "slow", 1))
    event_id, _ = await env.poster.deliver("call.initiated", call_session_id="s-2")
    await eventually(lambda: _acked(env, "slow", 1), limit=10)
    worker.cancel()
    assert seen == [event_id]  # delivered once: never redelivered while the handler ran


async def test_pull_iterates_with_explicit_acks_and_keeps_its_member_id(env: Env) -> None:
    await env.create("explicit")
    async with env.client.pull("subscriptions/explicit", member_id="puller") as pull:
        assert pull.member_id == "puller"
        event_id, _ = await env.poster.deliver("call.hangup", call_session_id="s-3")
        message = await anext(aiter(pull))
        assert (message.event.id, message.delivery_attempt) == (event_id, 1)
        await message.nack()
        again = await anext(aiter(pull))
        assert (again.event.id, again.delivery_attempt) == (event_id, 2)
        await again.ack()
        await eventually(lambda: _acked(env, "explicit", 1))
        assert (await env.figures("explicit")).members == 1


async def _members(env: Env, subscription_id: str, count: int) -> bool:
    return (await env.figures(subscription_id)).members == count


async def _acked(env: Env, subscription_id: str, count: int) -> bool:
    return (await env.figures(subscription_id)).acked == count
