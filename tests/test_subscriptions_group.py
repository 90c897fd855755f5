"""Subscription semantics on both backends (memory; NATS JetStream with one replica), end to end: signed
webhooks in over HTTP, members over gRPC."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from google.protobuf import duration_pb2, field_mask_pb2, timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.support.events import WebhookPoster
from tests.support.nats import NatsServer
from tests.support.stack import Stack, start_stack
from tests.support.subscriptions import Member
from voicesvc.v1 import events_pb2, subscriptions_pb2, subscriptions_pb2_grpc
from voicesvc.webhooks import Signer

CALL_EVENTS = (
    "call.initiated",
    "call.answered",
    "call.speak.started",
    "call.speak.ended",
    "call.dtmf.received",
    "call.gather.ended",
    "call.hangup",
    "call.recording.saved",
)


class Env:
    """A running voicesvc (memory backend), its Subscriptions stub and a webhook poster."""

    def __init__(self, stack: Stack, poster: WebhookPoster) -> None:
        self.stack = stack
        self.poster = poster
        self.stub = subscriptions_pb2_grpc.SubscriptionsStub(stack.channel)

    async def create(self, subscription_id: str, **fields: Any) -> subscriptions_pb2.Subscription:
        request = subscriptions_pb2.CreateSubscriptionRequest(
            subscription_id=subscription_id, subscription=subscriptions_pb2.Subscription(**fields)
        )
        return await self.stub.CreateSubscription(request)

    async def get(self, name: str) -> subscriptions_pb2.Subscription:
        return await self.stub.GetSubscription(subscriptions_pb2.GetSubscriptionRequest(name=name))

    async def member(self, name: str, **kwargs: Any) -> Member:
        return await (await Member.open(self.stack.channel, name, **kwargs)).started()

    async def call_event(self, call: int, event_type: str, **extra: Any) -> str:
        event_id, _ = await self.poster.deliver(
            event_type,
            call_control_id=f"v3:leg-{call}",
            call_session_id=f"session-{call}",
            connection_id="conn-1",
            **extra,
        )
        return event_id


@pytest.fixture(params=["memory", "nats"])
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Env]:
    signer = Signer.generate()
    with contextlib.ExitStack() as resources:
        overrides: dict[str, Any] = {}
        if request.param == "nats":
            overrides["events__backend"] = resources.enter_context(NatsServer(tmp_path)).url
        async with (
            start_stack(webhooks__public_keys=(signer.public_key_b64,), **overrides) as stack,
            aiohttp.ClientSession() as http,
        ):
            yield Env(stack, WebhookPoster(http, stack.http_url, signer))


def _seconds(value: float) -> duration_pb2.Duration:
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(int(value * 1e9))
    return duration


def _violations(error: grpc.aio.AioRpcError) -> list[str]:
    status = rpc_status.from_call(error)
    assert status is not None
    fields = []
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            fields += [v.field for v in bad.field_violations]
    return fields


async def _refused(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


# ------------------------------------------------------------------ the resource and its statuses


async def test_every_subscription_is_listed_as_soon_as_it_is_created_and_not_after_it_is_deleted(
    env: Env,
) -> None:
    names: list[str] = []
    for i in range(25):
        await env.create(f"s{i:02d}")
        names.append(f"subscriptions/s{i:02d}")
        listed = await env.stub.ListSubscriptions(subscriptions_pb2.ListSubscriptionsRequest(page_size=100))
        assert [s.name for s in listed.subscriptions] == names
        assert listed.total_size == len(names)
    for name in names[:10]:
        await env.stub.DeleteSubscription(subscriptions_pb2.DeleteSubscriptionRequest(name=name))
    listed = await env.stub.ListSubscriptions(subscriptions_pb2.ListSubscriptionsRequest(page_size=100))
    assert [s.name for s in listed.subscriptions] == names[10:]
    assert listed.total_size == 15


async def test_create_get_list_update_delete_with_defaults_and_paging(env: Env) -> None:
    created = await env.create("orders")
    assert created.name == "subscriptions/orders"
    assert created.ack_deadline.seconds == 30
    assert created.max_delivery_attempts == 5
    assert created.ordering == subscriptions_pb2.Subscription.ORDERING_PER_CALL
    assert created.start_position == events_pb2.START_POSITION_NOW
    assert created.create_time.seconds > 0
    assert (await env.get("subscriptions/orders")) == created
    for name in ("billing", "alerts"):
        await env.create(name, filter=events_pb2.EventFilter(event_types=["call."]))
    first = await env.stub.ListSubscriptions(subscriptions_pb2.ListSubscriptionsRequest(page_size=2))
    assert [s.name for s in first.subscriptions] == ["subscriptions/alerts", "subscriptions/billing"]
    assert first.total_size == 3
    second = await env.stub.ListSubscriptions(
        subscriptions_pb2.ListSubscriptionsRequest(page_size=2, page_token=first.next_page_token)
    )
    assert [s.name for s in second.subscriptions] == ["subscriptions/orders"]
    assert second.next_page_token == ""
    updated = await env.stub.UpdateSubscription(
        subscriptions_pb2.UpdateSubscriptionRequest(
            subscription=subscriptions_pb2.Subscription(
                name="subscriptions/orders", ack_deadline=_seconds(5), max_delivery_attempts=0
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["ack_deadline", "max_delivery_attempts"]),
        )
    )
    assert updated.ack_deadline.seconds == 5
    assert updated.HasField("max_delivery_attempts")
    assert updated.max_delivery_attempts == 0
    await env.stub.DeleteSubscription(
        subscriptions_pb2.DeleteSubscriptionRequest(name="subscriptions/orders")
    )
    gone = await _refused(env.get("subscriptions/orders"))
    assert gone.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("subscription_id", "fields", "field"),
    [
        ("", {}, "subscription_id"),
        ("Bad_Id", {}, "subscription_id"),
        ("ok", {"ack_deadline": _seconds(0.5)}, "subscription.ack_deadline"),
        ("ok", {"ack_deadline": _seconds(601)}, "subscription.ack_deadline"),
        ("ok", {"max_delivery_attempts": -1}, "subscription.max_delivery_attempts"),
        ("ok", {"filter": events_pb2.EventFilter(event_types=["call.."])}, "subscription.filter.event_types"),
        (
            "ok",
            {"filter": events_pb2.EventFilter(call_session_ids=[""])},
            "subscription.filter.call_session_ids",
        ),
        ("ok", {"ordering": 7}, "subscription.ordering"),
    ],
)
async def test_bad_subscriptions_are_invalid_argument_naming_the_field(
    env: Env, subscription_id: str, fields: dict[str, Any], field: str
) -> None:
    error = await _refused(env.create(subscription_id, **fields))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(error) == [field]
    listed = await env.stub.ListSubscriptions(subscriptions_pb2.ListSubscriptionsRequest())
    assert listed.total_size == 0  # nothing half-created


async def test_existing_unknown_and_immutable_are_refused(env: Env) -> None:
    await env.create("dup")
    again = await _refused(env.create("dup"))
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS
    for call in (
        env.get("subscriptions/nope"),
        env.stub.DeleteSubscription(subscriptions_pb2.DeleteSubscriptionRequest(name="subscriptions/nope")),
        env.stub.ListDeadLetters(subscriptions_pb2.ListDeadLettersRequest(subscription="subscriptions/nope")),
    ):
        assert (await _refused(call)).code() == grpc.StatusCode.NOT_FOUND
    assert _violations(await _refused(env.get("topics/dup"))) == ["name"]
    fixed = await _refused(
        env.stub.UpdateSubscription(
            subscriptions_pb2.UpdateSubscriptionRequest(
                subscription=subscriptions_pb2.Subscription(name="subscriptions/dup"),
                update_mask=field_mask_pb2.FieldMask(paths=["filter"]),
            )
        )
    )
    assert fixed.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "fixed" in (fixed.details() or "")
    member = await Member.open(env.stack.channel, "subscriptions/nope")
    assert (await member.failure()).code() == grpc.StatusCode.NOT_FOUND


async def test_deleting_a_subscription_ends_its_streams_with_not_found(env: Env) -> None:
    await env.create("doomed")
    member = await env.member("subscriptions/doomed")
    await env.stub.DeleteSubscription(
        subscriptions_pb2.DeleteSubscriptionRequest(name="subscriptions/doomed")
    )
    assert (await member.failure()).code() == grpc.StatusCode.NOT_FOUND


# ------------------------------------------------------------------ delivery semantics


async def test_worker_group_gets_each_event_once_in_call_order_one_member_per_call(env: Env) -> None:
    await env.create("group")
    members = [await env.member("subscriptions/group", member_id=f"w{i}") for i in range(3)]
    calls, per_call = 40, len(CALL_EVENTS)
    sent: dict[int, list[str]] = {}
    rng = random.Random(11)

    async def run_call(call: int) -> None:
        ids = []
        for event_type in CALL_EVENTS:
            event_id = await env.call_event(call, event_type)
            ids.append(event_id)
            if rng.random() < 0.05:  # Telnyx delivers some webhooks twice
                await env.poster.deliver(
                    event_type, event_id=event_id, attempt=2, call_session_id=f"session-{call}"
                )
        sent[call] = ids

    got: dict[str, list[str]] = defaultdict(list)
    holder: dict[str, str] = {}
    acked: list[str] = []

    async def work(member: Member) -> None:
        while len(acked) < calls * per_call:
            try:
                delivery = await member.receive(1.0)
            except TimeoutError:
                continue
            session = delivery.event.call_session_id
            assert holder.setdefault(session, member.member_id) == member.member_id, "a call moved"
            got[session].append(delivery.event.id)
            acked.append(delivery.event.id)
            await asyncio.sleep(0)
            await member.ack(delivery.ack_id)

    async with asyncio.timeout(30):
        workers = [asyncio.create_task(work(m)) for m in members]
        await asyncio.gather(*(run_call(c) for c in range(calls)))
        await asyncio.gather(*workers)
    assert sorted(acked) == sorted(i for ids in sent.values() for i in ids)  # each exactly once
    for call, ids in sent.items():
        assert got[f"session-{call}"] == ids
    assert len(set(holder.values())) == 3  # calls are spread over the members
    for member in members:
        await member.nothing(0.2)
    figures = await env.get("subscriptions/group")
    assert (figures.acked, figures.outstanding, figures.backlog, figures.members) == (
        calls * per_call,
        0,
        0,
        3,
    )
    for member in members:
        await member.close()


async def test_a_calls_next_event_waits_for_the_ack_of_the_previous_one(env: Env) -> None:
    await env.create("ordered")
    member = await env.member("subscriptions/ordered")
    first = await env.call_event(1, "call.initiated")
    second = await env.call_event(1, "call.answered")
    other = await env.call_event(2, "call.initiated")
    deliveries = [await member.receive(), await member.receive()]
    assert {d.event.id for d in deliveries} == {first, other}
    await member.nothing()
    await member.ack(next(d.ack_id for d in deliveries if d.event.id == first))
    assert (await member.receive()).event.id == second
    await member.close()


async def test_member_leaving_mid_call_moves_its_calls_from_the_first_unacked_event(env: Env) -> None:
    await env.create("handover")
    a = await env.member("subscriptions/handover", member_id="a")
    e1 = await env.call_event(7, "call.initiated")
    d1 = await a.receive()
    assert d1.event.id == e1
    b = await env.member("subscriptions/handover", member_id="b")
    await a.ack(d1.ack_id)
    e2 = await env.call_event(7, "call.answered")
    d2 = await a.receive()  # the call stays with its member while it is connected
    assert (d2.event.id, d2.delivery_attempt) == (e2, 1)
    await b.nothing()
    e3 = await env.call_event(7, "call.hangup")
    await a.close()  # leaves with e2 unacked
    redelivered = await b.receive()
    assert (redelivered.event.id, redelivered.delivery_attempt) == (e2, 2)
    await b.ack(redelivered.ack_id)
    after = await b.receive()
    assert (after.event.id, after.delivery_attempt) == (e3, 1)
    await b.ack(after.ack_id)
    await b.nothing()  # e1 was acked: never delivered again
    await b.close()


async def test_a_silent_member_gets_the_event_again_after_the_deadline(env: Env) -> None:
    await env.create("silent", ack_deadline=_seconds(1))
    member = await env.member("subscriptions/silent")
    event_id = await env.call_event(3, "call.initiated")
    first = await member.receive()
    assert first.delivery_attempt == 1
    again = await member.receive(5)
    assert (again.event.id, again.delivery_attempt) == (event_id, 2)
    assert again.ack_id != first.ack_id
    await member.ack(first.ack_id)  # stale: ignored and counted, the stream goes on
    await member.ack(again.ack_id)
    await member.nothing()
    figures = await env.get("subscriptions/silent")
    assert (figures.acked, figures.ignored_ack_ids) == (1, 1)
    await member.close()


async def test_extending_the_deadline_keeps_the_event(env: Env) -> None:
    await env.create("slow", ack_deadline=_seconds(1))
    member = await env.member("subscriptions/slow")
    await env.call_event(4, "call.initiated")
    delivery = await member.receive()
    for _ in range(3):
        await member.extend(2.0, delivery.ack_id)  # well past the 1 s deadline, renewed every 0.5 s
        await asyncio.sleep(0.5)
    await member.nothing(0.2)
    await member.ack(delivery.ack_id)
    await member.nothing(1.2)
    await member.close()


async def test_failing_handler_dead_letters_after_max_attempts_then_redrive(env: Env) -> None:
    await env.create("poison", max_delivery_attempts=3)
    member = await env.member("subscriptions/poison")
    bad = await env.call_event(5, "call.initiated")
    good = await env.call_event(5, "call.answered")
    attempts = []
    for _ in range(3):
        delivery = await member.receive()
        assert delivery.event.id == bad
        attempts.append(delivery.delivery_attempt)
        await member.nack(delivery.ack_id)
    assert attempts == [1, 2, 3]
    moved_on = await member.receive()  # the call goes on with its next event
    assert moved_on.event.id == good
    await member.ack(moved_on.ack_id)
    letters = await env.stub.ListDeadLetters(
        subscriptions_pb2.ListDeadLettersRequest(subscription="subscriptions/poison")
    )
    assert [(d.event.id, d.delivery_attempts) for d in letters.dead_letters] == [(bad, 3)]
    assert letters.dead_letters[0].last_attempt_time.seconds > 0
    assert (await env.get("subscriptions/poison")).dead_lettered == 1
    unknown = await _refused(
        env.stub.RedriveDeadLetters(
            subscriptions_pb2.RedriveDeadLettersRequest(
                subscription="subscriptions/poison", event_ids=[bad, "x"]
            )
        )
    )
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    redriven = await env.stub.RedriveDeadLetters(
        subscriptions_pb2.RedriveDeadLettersRequest(subscription="subscriptions/poison")
    )
    assert redriven.redriven_count == 1
    back = await member.receive()
    assert (back.event.id, back.delivery_attempt) == (bad, 1)
    await member.ack(back.ack_id)
    assert (await env.get("subscriptions/poison")).dead_lettered == 0
    await member.close()


async def test_flow_control_and_unknown_ack_ids(env: Env) -> None:
    await env.create("flow", ordering=subscriptions_pb2.Subscription.ORDERING_NONE)
    member = await env.member("subscriptions/flow", max_outstanding=2)
    ids = [await env.call_event(9, "call.dtmf.received") for _ in range(5)]
    first = [await member.receive(), await member.receive()]
    await member.nothing()
    await member.ack("not-an-ack-id", first[0].ack_id)
    third = await member.receive()
    await member.nothing()
    assert [d.event.id for d in [*first, third]] == ids[:3]
    figures = await env.get("subscriptions/flow")
    assert (figures.outstanding, figures.backlog, figures.ignored_ack_ids) == (2, 2, 1)
    bad_deadline = duration_pb2.Duration(seconds=601)
    await member.send(modify_deadline_ack_ids=[third.ack_id], modify_deadline=bad_deadline)
    error = await member.failure()
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(error) == ["modify_deadline"]


async def test_a_reconnecting_member_never_gets_acked_events_again(env: Env) -> None:
    await env.create("resume", start_position=events_pb2.START_POSITION_OLDEST)
    ids = [await env.call_event(c, "call.initiated") for c in range(4)]
    member = await env.member("subscriptions/resume", member_id="m")
    got = [await member.receive() for _ in range(4)]
    assert sorted(d.event.id for d in got) == sorted(ids)
    await member.ack(*(d.ack_id for d in got[:2]))
    await asyncio.sleep(0.1)
    await member.close()
    again = await env.member("subscriptions/resume", member_id="m")
    redelivered = [await again.receive(), await again.receive()]
    assert sorted(d.event.id for d in redelivered) == sorted(d.event.id for d in got[2:])
    assert {d.delivery_attempt for d in redelivered} == {2}
    await again.nothing()
    await again.close()


async def test_start_time_and_filters_select_the_events(env: Env) -> None:
    await env.call_event(1, "call.hangup")
    await asyncio.sleep(0.05)
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int(time.time() * 1e9))
    await asyncio.sleep(0.05)
    wanted = await env.call_event(2, "call.hangup")
    await env.call_event(3, "call.answered")
    await env.create("replay", start_time=stamp, filter=events_pb2.EventFilter(event_types=["call.hangup"]))
    member = await env.member("subscriptions/replay")
    delivery = await member.receive()
    assert delivery.event.id == wanted
    await member.ack(delivery.ack_id)
    await member.nothing()
    created = await env.get("subscriptions/replay")
    assert created.start_time == stamp
    await member.close()
