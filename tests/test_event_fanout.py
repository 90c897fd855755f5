"""An event costs work per subscription it can match, not per subscription connected.

Idle subscribers filtered to their own call are never looked at (memory log), never sent anything (NATS)
and never convert anything (the gRPC stream) for the events of other calls. Counted, never timed.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator

import aiohttp
import grpc
import pytest

from tests.support.events import Watcher, WebhookPoster
from tests.support.nats import NatsServer, unique_log_names
from tests.support.stack import FAST_SANDBOX, FAST_SERVICE, eventually
from voicesvc.config import Settings
from voicesvc.embedded import embedded
from voicesvc.events import EventLog, IdFilter, MemoryEventLog, Start, StoredEvent, Subscription
from voicesvc.events.log import EventFilter, EventIds
from voicesvc.events.nats import NatsEventLog
from voicesvc.events.nats.connection import AckFields, ack_fields
from voicesvc.events.nats.messages import (
    MAX_FILTER_SUBJECTS,
    decode_event,
    event_headers,
    event_subject,
    filter_subjects,
    id_token,
)
from voicesvc.sandbox import SandboxConfig
from voicesvc.webhooks import Signer

SUBSCRIBERS = 500
OTHER_EVENTS = 1000
WAIT = 15.0


def body(event_type: str, call: str, session: str = "", connection: str = "") -> tuple[bytes, str]:
    event_id = str(uuid.uuid4())
    payload = {"call_control_id": call, "call_session_id": session, "connection_id": connection}
    raw = json.dumps({"data": {"id": event_id, "event_type": event_type, "payload": payload}}).encode()
    return raw, event_id


async def append(log: EventLog, call: str, event_type: str = "call.answered", **ids: str) -> StoredEvent:
    raw, event_id = body(event_type, call, **ids)
    return (await log.append(raw, event_id, event_type)).event


async def idle_readers(
    log: EventLog, count: int
) -> tuple[list[Subscription], list[asyncio.Task[StoredEvent | None]]]:
    """`count` subscribers, the i-th filtered to call `v3:i`, each waiting for its next event."""
    subs = [
        await log.subscribe(Start.now(), ids=IdFilter.of(call_control_ids=[f"v3:{i}"])) for i in range(count)
    ]
    waiting = [asyncio.create_task(sub.next(WAIT)) for sub in subs]
    await asyncio.sleep(0)
    return subs, waiting


async def test_memory_log_idle_filtered_readers_cost_nothing_for_other_calls() -> None:
    log = MemoryEventLog()
    subs, waiting = await idle_readers(log, SUBSCRIBERS)
    assert log.parked_readers == SUBSCRIBERS
    for i in range(OTHER_EVENTS):
        await append(log, f"v3:other-{i}", session=f"s-{i}", connection="conn")
    assert (log.readers_examined, log.readers_woken) == (0, 0)
    assert not any(task.done() for task in waiting)
    mine = await append(log, "v3:7")
    assert (log.readers_examined, log.readers_woken) == (1, 1)
    event = await waiting[7]
    assert event is not None
    assert event.event_id == mine.event_id
    # Its checkpoint went past the other calls' events without it ever reading them.
    assert subs[3].checkpoint == log.cursor(mine.seq)
    await log.close()


async def test_memory_log_filters_combine_with_and_and_index_one_list() -> None:
    log = MemoryEventLog()
    both = await log.subscribe(
        Start.now(),
        ["call.hangup"],
        IdFilter.of(call_control_ids=["v3:a", "v3:b"], call_session_ids=["s1"]),
    )
    waiting = asyncio.create_task(both.next(WAIT))
    await asyncio.sleep(0)
    await append(log, "v3:a", "call.hangup", session="s2")  # right call, wrong session
    await append(log, "v3:b", "call.answered", session="s1")  # right ids, wrong type
    await append(log, "v3:c", "call.hangup", session="s1")  # the session's other leg
    # Parked under its one-entry session list: only the events of session s1 were looked at.
    assert (log.readers_examined, log.readers_woken) == (2, 0)
    match = await append(log, "v3:b", "call.hangup", session="s1")
    event = await waiting
    assert event is not None
    assert event.event_id == match.event_id
    # A reader that replays from the oldest scans the backlog and finds the same single event.
    replay = await log.subscribe(
        Start.oldest(),
        ["call.hangup"],
        IdFilter.of(call_control_ids=["v3:a", "v3:b"], call_session_ids=["s1"]),
    )
    replayed = await replay.next(0)
    assert replayed is not None
    assert replayed.event_id == match.event_id
    assert await replay.next(0) is None
    await log.close()


def test_id_filters_refuse_empty_ids() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        IdFilter.of(call_control_ids=["v3:a", ""])
    with pytest.raises(TypeError):
        IdFilter.of(call_control_ids="v3:a")


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server


async def test_nats_idle_filtered_readers_are_sent_nothing_for_other_calls(nats_server: NatsServer) -> None:
    names = unique_log_names()
    log = NatsEventLog(nats_server.url, **names, pull_expires_s=30, consumer_inactive_s=60)
    writer = NatsEventLog(nats_server.url, **names)
    await log.start()
    await writer.start()
    try:
        subs, waiting = await idle_readers(log, SUBSCRIBERS)
        everything = await writer.subscribe(Start.now())
        for i in range(OTHER_EVENTS):
            await append(writer, f"v3:other-{i}", session=f"s-{i}", connection="conn")
        mine = await append(writer, "v3:7")
        event = await waiting[7]
        assert event is not None
        assert event.event_id == mine.event_id
        # The unfiltered reader on the other connection read all of them: they were all in the stream.
        seen = [await everything.next(WAIT) for _ in range(OTHER_EVENTS + 1)]
        assert seen[-1] is not None
        assert seen[-1].event_id == mine.event_id
        # Of the 1001 events, the 500 filtered readers were sent exactly one: the one for call 7.
        assert log.deliveries == 1
        assert not any(task.done() for i, task in enumerate(waiting) if i != 7)
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        for sub in subs:
            await sub.close()
    finally:
        await log.close()
        await writer.close()


async def test_nats_log_admits_more_than_a_thousand_subscriptions(nats_server: NatsServer) -> None:
    """nats-server refuses a stream's 1001st consumer unless the stream sets its own limit."""
    log = NatsEventLog(nats_server.url, **unique_log_names())
    await log.start()
    try:
        subs = await asyncio.gather(
            *(log.subscribe(Start.now(), ids=IdFilter.of(call_control_ids=[f"v3:{i}"])) for i in range(1100))
        )
        mine = await append(log, "v3:1099")
        event = await subs[-1].next(WAIT)
        assert event is not None
        assert event.event_id == mine.event_id
        await asyncio.gather(*(sub.close() for sub in subs))
    finally:
        await log.close()


async def test_nats_readers_on_one_connection_get_their_own_events_in_order(nats_server: NatsServer) -> None:
    """Every reader's answers come back on one shared inbox: batches of many readers in flight at once
    reach only their reader, in order, and a closed reader's consumer is gone while the others go on."""
    log = NatsEventLog(nats_server.url, **unique_log_names(), pull_batch=4, pull_expires_s=0.5)
    await log.start()
    try:
        readers = 30
        subs = [
            await log.subscribe(Start.now(), ids=IdFilter.of(call_control_ids=[f"v3:{i}"]))
            for i in range(readers)
        ]
        everything = await log.subscribe(Start.now())
        # Interleaved: each reader's 10 events span several of its batches, all readers' batches in flight.
        appended = [await append(log, f"v3:{n % readers}", f"call.t{n}") for n in range(readers * 10)]
        expected = {
            i: [e.event_id for e in appended if e.ids.call_control_id == f"v3:{i}"] for i in range(readers)
        }

        async def read(sub: Subscription, count: int) -> list[str]:
            events = [await sub.next(WAIT) for _ in range(count)]
            assert all(event is not None for event in events)
            return [event.event_id for event in events if event is not None]

        got = await asyncio.gather(*(read(sub, 5) for sub in subs))
        assert got == [expected[i][:5] for i in range(readers)]
        # Close every other reader while its next batch may already be on its way.
        closed = subs[::2]
        await asyncio.gather(*(sub.close() for sub in closed))
        later = [await append(log, f"v3:{i}", "call.hangup") for i in range(readers)]
        open_ones = list(range(1, readers, 2))
        got = await asyncio.gather(*(read(subs[i], 6) for i in open_ones))
        assert got == [expected[i][5:] + [later[i].event_id] for i in open_ones]
        for i in open_ones:
            assert await subs[i].next(0.2) is None
        # The unfiltered reader saw the whole stream once, in order.
        assert await read(everything, len(appended) + readers) == [e.event_id for e in appended + later]
        consumers = await log.connection.jetstream().consumers_info(log.stream)
        assert len(consumers) == len(open_ones) + 1
        for i in open_ones:
            await subs[i].close()
        await everything.close()
        assert await log.connection.jetstream().consumers_info(log.stream) == []
    finally:
        await log.close()


async def test_nats_ids_that_are_not_subject_tokens_still_filter_exactly(nats_server: NatsServer) -> None:
    log = NatsEventLog(nats_server.url, **unique_log_names())
    await log.start()
    try:
        odd = ["v3:a.b", "*", ">", "_", "_41", "sp ace", "ünï", "x" * 300, "y" * 300]
        subs = {
            call: await log.subscribe(Start.now(), ids=IdFilter.of(call_control_ids=[call])) for call in odd
        }
        appended = {call: await append(log, call) for call in odd}
        for call, sub in subs.items():
            event = await sub.next(WAIT)
            assert event is not None
            assert (event.event_id, event.ids.call_control_id) == (appended[call].event_id, call)
            assert await sub.next(0.2) is None
            await sub.close()
    finally:
        await log.close()


def test_deliveries_are_routed_by_the_consumer_either_form_of_the_ack_subject_names() -> None:
    # As nats-server writes them: without a domain, and with a domain and account hash (and a trailing token).
    expected = AckFields("c0ffee", 42, 1700000000123456789)
    assert ack_fields("$JS.ACK.EVENTS.c0ffee.1.42.7.1700000000123456789.0") == expected
    assert ack_fields("$JS.ACK.hub.ACCHASH.EVENTS.c0ffee.1.42.7.1700000000123456789.0") == expected
    assert ack_fields("$JS.ACK.hub.ACCHASH.EVENTS.c0ffee.1.42.7.1700000000123456789.0.xyz") == expected
    # A consumer's subject that spells no sequence is still its own (and delivers nothing).
    assert ack_fields("$JS.ACK.EVENTS.c0ffee.1.x.7.y.0") == AckFields("c0ffee", 0, 0)
    for not_an_ack in ("", "_INBOX.abc.def", "$JS.ACK.EVENTS.c0ffee", "$JS.API.CONSUMER.INFO.EVENTS.c0ffee"):
        assert ack_fields(not_an_ack) is None


def test_subject_layout_tokens_are_unambiguous() -> None:
    tokens = [id_token(v) for v in ["", "_", "v3:abc", "a.b", "*", ">", "_41", "A", "x" * 300, "y" * 300]]
    assert len(set(tokens)) == len(tokens)
    assert all("." not in t and "*" not in t and ">" not in t and " " not in t for t in tokens)
    ids = EventIds("v3:leg", "sess", "conn")
    assert event_subject("p", "call.answered", ids) == "p.conn.sess.v3:leg.call.answered"
    assert event_subject("p", "call.answered") == "p._._._.call.answered"


@pytest.mark.parametrize(
    "ids",
    [
        EventIds("v3:leg", "428c31b6-7af4-4bcb-b7f5-5013ef9657c1", "1234567890"),
        EventIds("v3:leg", "", ""),
        EventIds(),
        EventIds("v3:a.b", "sess", "conn"),  # escaped in the subject: carried in a header
        EventIds("v3:ünï", "sess", ""),  # not a header value: taken from the body
        EventIds("x" * 300, "", ""),  # hashed in the subject
    ],
    ids=["plain", "one", "none", "escaped", "non-ascii", "long"],
)
def test_an_events_ids_read_back_from_its_message_by_this_reader_and_by_earlier_ones(ids: EventIds) -> None:
    payload = {"call_control_id": ids.call_control_id, "call_session_id": ids.call_session_id}
    payload["connection_id"] = ids.connection_id
    raw = json.dumps({"data": {"id": "e1", "event_type": "call.answered", "payload": payload}}).encode()
    subject = event_subject("p", "call.answered", ids)
    headers = event_headers("e1", 1700000000.25, 1, ids)
    event = decode_event("p", 7, "C", subject, headers, raw, None)
    assert (event.ids, event.event_type, event.attempt, event.received_at) == (
        ids,
        "call.answered",
        1,
        1700000000.25,
    )
    # Only what the subject cannot say travels in headers.
    plain = all(
        not v or id_token(v) == v for v in (ids.call_control_id, ids.call_session_id, ids.connection_id)
    )
    if plain:
        assert len(headers) == (2 if ids == EventIds() else 3)
    # Readers of earlier builds take the ids from the id headers, or from the body when marked so.
    if "Voicesvc-Ids-In-Body" in headers:
        earlier = EventIds.of_body(raw)
    else:
        earlier = EventIds(
            *(
                headers.get(f"Voicesvc-{n}", "")
                for n in ("Call-Control-Id", "Call-Session-Id", "Connection-Id")
            )
        )
    assert earlier == ids


def test_an_event_as_earlier_builds_wrote_it_still_reads_the_same() -> None:
    ids = EventIds("v3:leg", "sess", "conn")
    headers = {
        "Nats-Msg-Id": "e1",
        "Voicesvc-Event-Type": "call.hangup",
        "Voicesvc-Received-At": "1700000000.5",
        "Voicesvc-Attempt": "3",
        "Voicesvc-Call-Control-Id": "v3:leg",
        "Voicesvc-Call-Session-Id": "sess",
        "Voicesvc-Connection-Id": "conn",
        "Nats-Expected-Stream": "VOICESVC_EVENTS_V2",
    }
    event = decode_event("p", 9, "C", event_subject("p", "call.hangup", ids), headers, b"{}", None)
    assert (event.event_id, event.event_type, event.attempt, event.received_at, event.ids) == (
        "e1",
        "call.hangup",
        3,
        1700000000.5,
        ids,
    )


def test_too_many_combinations_widen_the_subject_filters() -> None:
    ids = IdFilter.of(call_control_ids=[f"v3:{i}" for i in range(300)], connection_ids=["c1", "c2"])
    subjects = filter_subjects("p", EventFilter.of(["call.hangup", "call.recording."]), ids)
    assert len(subjects) <= MAX_FILTER_SUBJECTS
    assert subjects == [
        "p.c1.*.*.call.hangup",
        "p.c1.*.*.call.recording.>",
        "p.c2.*.*.call.hangup",
        "p.c2.*.*.call.recording.>",
    ]


async def test_grpc_streams_filtered_to_other_calls_convert_nothing() -> None:
    signer = Signer.generate()
    settings = Settings.from_values({**FAST_SERVICE, "webhooks.public_keys": (signer.public_key_b64,)})
    async with embedded(settings, SandboxConfig(**FAST_SANDBOX)) as running:
        service = running.service
        log = service.event_log
        assert isinstance(log, MemoryEventLog)
        async with aiohttp.ClientSession() as http, grpc.aio.insecure_channel(service.grpc_target) as channel:
            poster = WebhookPoster(http, service.http_url, signer)
            watchers = await asyncio.gather(
                *(Watcher.open(channel, call_control_ids=[f"v3:{i}"]) for i in range(SUBSCRIBERS))
            )
            # The service's own reader (the calls projection, unfiltered) is woken by every event: the
            # counts below are the streams' work on top of it.
            own = (log.readers_examined, log.readers_woken)
            for i in range(OTHER_EVENTS):
                await poster.deliver("call.answered", call_control_id=f"v3:other-{i}")
                await eventually(lambda: log.parked_readers == SUBSCRIBERS + 1)
            base = (own[0] + OTHER_EVENTS, own[1] + OTHER_EVENTS)
            assert (log.readers_examined, log.readers_woken) == base
            # Nothing was converted: ingress only bounded each webhook's size, the streams skipped them.
            assert service.converter.conversions == 0
            mine, _ = await poster.deliver("call.hangup", call_control_id="v3:7")
            event = await watchers[7].event()
            assert event.id == mine
            await eventually(lambda: log.readers_woken >= base[1] + 2)
            assert (log.readers_examined, log.readers_woken) == (base[0] + 2, base[1] + 2)
            assert service.converter.conversions == 1
            for watcher in watchers:
                watcher.cancel()
        await service.stop(grace_s=0)
