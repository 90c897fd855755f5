"""Event log behaviour, identical on the in-memory ring buffer and on NATS JetStream (a real nats-server)."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import struct
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from nats.js import api

from tests.support.nats import NatsServer, unique_log_names
from voicesvc.events import (
    CursorExpired,
    EventFilter,
    EventLog,
    InvalidCursor,
    LogClosed,
    LogUnavailable,
    MemoryEventLog,
    Start,
    StoredEvent,
    Subscription,
    decode_cursor,
    encode_cursor,
)
from voicesvc.events.nats import NatsEventLog

LogFactory = Callable[..., Awaitable[EventLog]]
ALL_TYPES = ["call.answered", "streaming.started", "call.hangup", "callx.other", "call.recording.saved"]
WAIT = 10.0  # upper bound for anything that should arrive; never reached when things work


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture(params=["memory", "nats"])
async def make_log(request: pytest.FixtureRequest) -> AsyncIterator[LogFactory]:
    """Creates started logs of the parametrised backend; NATS logs of one test share one stream."""
    server = request.getfixturevalue("nats_server") if request.param == "nats" else None
    names = unique_log_names()
    created: list[EventLog] = []

    async def factory(*, retain: int | None = None, pull_batch: int = 64) -> EventLog:
        log: EventLog
        if server is None:
            log = MemoryEventLog(max_events=retain or 100_000)
        else:
            log = NatsEventLog(
                server.url,
                **names,
                max_msgs=retain or -1,
                pull_batch=pull_batch,
                pull_expires_s=0.5,
                consumer_inactive_s=5,
            )
        await log.start()
        created.append(log)
        return log

    yield factory
    for log in created:
        await log.close()


def body(event_type: str, event_id: str | None = None, attempt: int = 1) -> tuple[bytes, str]:
    """A webhook body as Telnyx sends it, and its event id."""
    event_id = event_id or str(uuid.uuid4())
    envelope = {
        "data": {"id": event_id, "event_type": event_type, "record_type": "event", "payload": {"n": 1}},
        "meta": {"attempt": attempt, "delivered_to": "http://example.invalid/webhooks"},
    }
    return json.dumps(envelope).encode(), event_id


async def append(log: EventLog, event_type: str = "call.answered", **kwargs: Any) -> StoredEvent:
    raw, event_id = body(event_type, **kwargs)
    result = await log.append(raw, event_id, event_type, kwargs.get("attempt", 1))
    assert not result.duplicate
    return result.event


async def take(sub: Subscription, count: int) -> list[StoredEvent]:
    events: list[StoredEvent] = []
    for _ in range(count):
        event = await sub.next(WAIT)
        assert event is not None, f"only {len(events)} of {count} events arrived"
        events.append(event)
    return events


async def assert_nothing_more(sub: Subscription) -> None:
    assert await sub.next(0.3) is None


# -- cursors ---------------------------------------------------------------------------------------


def test_cursor_round_trip_and_order() -> None:
    cursors = [encode_cursor(seq, epoch=7) for seq in (0, 1, 2, 9, 10, 255, 256, 70_000, 2**40)]
    assert [decode_cursor(c).seq for c in cursors] == [0, 1, 2, 9, 10, 255, 256, 70_000, 2**40]
    assert all(decode_cursor(c).epoch == 7 for c in cursors)
    assert sorted(cursors) == cursors


def test_cursors_are_the_base32hex_text_of_version_epoch_and_sequence() -> None:
    # Cursors handed out before stay valid: the spelling is the standard library's, padding left out.
    rng = random.Random(7)
    edges = [0, 1, 2**63, 2**64 - 1]
    for seq, epoch in [
        *((s, e) for s in edges for e in (0, 1, 2**32 - 1)),
        *((rng.randrange(2**64), rng.randrange(2**32)) for _ in range(2000)),
    ]:
        expected = base64.b32hexencode(struct.pack(">BIQ", 1, epoch, seq)).decode().rstrip("=")
        assert encode_cursor(seq, epoch) == expected
        assert decode_cursor(expected) == (epoch, seq)
    for seq, epoch in ((-1, 0), (2**64, 0), (0, -1), (0, 2**32)):
        with pytest.raises(ValueError, match="out of range"):
            encode_cursor(seq, epoch)


@pytest.mark.parametrize("garbage", ["", "abc", "0" * 21 + "=", "!" * 21, "zzzzzzzzzzzzzzzzzzzzz", 42])
def test_garbage_cursors_are_rejected(garbage: Any) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(garbage)
    with pytest.raises(InvalidCursor):
        Start.after(garbage)


def test_cursor_with_unknown_version_is_rejected() -> None:
    good = encode_cursor(5)
    tampered = "G" + good[1:]  # first character carries the version byte
    with pytest.raises(InvalidCursor):
        decode_cursor(tampered)


def test_filters_are_validated_and_normalised() -> None:
    for bad in (["call..x"], ["call.*"], ["."], [""], ["call x"]):
        with pytest.raises(ValueError):
            EventFilter.of(bad)
    with pytest.raises(TypeError):
        EventFilter.of("call.")
    normalised = EventFilter.of(["call.answered", "call.", "call.recording.", "streaming.started", "call."])
    assert normalised.patterns() == ["streaming.started", "call."]


# -- both backends ---------------------------------------------------------------------------------


async def test_subscribers_see_every_event_once_in_order(make_log: LogFactory) -> None:
    log = await make_log()
    before = await append(log, "call.initiated")
    from_oldest = await log.subscribe(Start.oldest())
    from_now = await log.subscribe(Start.now())
    appended = [await append(log, f"call.t{i % 3}") for i in range(20)]

    seen_oldest = await take(from_oldest, 21)
    seen_now = await take(from_now, 20)
    assert [e.event_id for e in seen_oldest] == [before.event_id] + [e.event_id for e in appended]
    assert [e.event_id for e in seen_now] == [e.event_id for e in appended]
    assert [e.cursor for e in seen_now] == [e.cursor for e in appended]
    seqs = [e.seq for e in seen_oldest]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    assert sorted(e.cursor for e in seen_oldest) == [e.cursor for e in seen_oldest]
    assert seen_now[0].raw == body_of(appended[0])
    await assert_nothing_more(from_now)
    await assert_nothing_more(from_oldest)


def body_of(event: StoredEvent) -> bytes:
    return event.raw


async def test_stored_event_keeps_raw_body_and_metadata(make_log: LogFactory) -> None:
    log = await make_log()
    sub = await log.subscribe(Start.now())
    raw = b'{"data":{"id":"ev-1","event_type":"call.hangup"},  "meta":{"attempt":3}}'
    result = await log.append(raw, "ev-1", "call.hangup", 3)
    (event,) = await take(sub, 1)
    assert event.raw == raw
    assert (event.event_id, event.event_type, event.attempt) == ("ev-1", "call.hangup", 3)
    assert event.cursor == result.event.cursor
    assert event.received_at == pytest.approx(result.event.received_at)


async def test_duplicate_event_ids_are_stored_once(make_log: LogFactory) -> None:
    log = await make_log()
    sub = await log.subscribe(Start.now())
    raw1, event_id = body("call.answered", attempt=1)
    raw2, _ = body("call.answered", event_id=event_id, attempt=2)
    first = await log.append(raw1, event_id, "call.answered", 1)
    second = await log.append(raw2, event_id, "call.answered", 2)
    other = await append(log, "call.hangup")

    assert not first.duplicate
    assert second.duplicate
    assert second.event.cursor == first.event.cursor
    assert second.event.raw == raw1
    assert second.event.attempt == 1
    events = await take(sub, 2)
    assert [e.event_id for e in events] == [event_id, other.event_id]
    await assert_nothing_more(sub)


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        (["call.hangup"], ["call.hangup"]),
        (["call."], ["call.answered", "call.hangup", "call.recording.saved"]),
        (["call.recording.", "streaming.started"], ["streaming.started", "call.recording.saved"]),
        (["call.hangup", "call.", "call.answered"], ["call.answered", "call.hangup", "call.recording.saved"]),
        ([], ALL_TYPES),
    ],
)
async def test_type_filters_exact_and_prefix(
    make_log: LogFactory, patterns: list[str], expected: list[str]
) -> None:
    log = await make_log()
    sub = await log.subscribe(Start.now(), patterns)
    for event_type in ALL_TYPES:
        await append(log, event_type)
    events = await take(sub, len(expected))
    assert [e.event_type for e in events] == expected
    await assert_nothing_more(sub)


async def test_resume_after_a_cursor_misses_nothing_and_repeats_nothing(make_log: LogFactory) -> None:
    log = await make_log()
    appended = [await append(log) for _ in range(8)]
    sub = await log.subscribe(Start.oldest())
    seen = await take(sub, 3)
    await sub.close()

    resumed = await log.subscribe(Start.after(seen[-1].cursor))
    more = [await append(log) for _ in range(2)]
    rest = await take(resumed, 7)
    assert [e.event_id for e in seen + rest] == [e.event_id for e in appended + more]
    await assert_nothing_more(resumed)


async def test_filtered_checkpoint_resumes_without_gaps(make_log: LogFactory) -> None:
    log = await make_log()
    sub = await log.subscribe(Start.now(), ["call.hangup"])
    hangup = await append(log, "call.hangup")
    for _ in range(5):
        await append(log, "call.answered")
    (seen,) = await take(sub, 1)
    assert seen.event_id == hangup.event_id
    await assert_nothing_more(sub)
    checkpoint = sub.checkpoint
    assert decode_cursor(checkpoint).seq >= seen.seq
    await sub.close()

    later = [await append(log, t) for t in ("call.hangup", "call.answered", "call.hangup")]
    resumed = await log.subscribe(Start.after(checkpoint), ["call.hangup"])
    events = await take(resumed, 2)
    assert [e.event_id for e in events] == [later[0].event_id, later[2].event_id]
    await assert_nothing_more(resumed)


async def test_idle_filtered_checkpoint_catches_up_with_unrelated_events(make_log: LogFactory) -> None:
    log = await make_log()
    sub = await log.subscribe(Start.now(), ["call.hangup"])
    unrelated = [await append(log, "call.answered") for _ in range(3)]
    loop = asyncio.get_running_loop()
    give_up = loop.time() + WAIT
    # A heartbeat-driven reader: wait a little, look at the checkpoint, repeat.
    while decode_cursor(sub.checkpoint).seq < unrelated[-1].seq and loop.time() < give_up:
        assert await sub.next(0.2) is None
    assert sub.checkpoint == unrelated[-1].cursor
    assert sub.latest_seq == unrelated[-1].seq


async def test_cursor_older_than_retention_is_expired_at_subscribe(make_log: LogFactory) -> None:
    log = await make_log(retain=3)
    appended = [await append(log) for _ in range(6)]
    with pytest.raises(CursorExpired) as caught:
        await log.subscribe(Start.after(appended[0].cursor))
    # The oldest cursor replays exactly what is still retained.
    sub = await log.subscribe(Start.after(caught.value.oldest_cursor))
    events = await take(sub, 3)
    assert [e.event_id for e in events] == [e.event_id for e in appended[3:]]
    # A cursor right before the oldest retained event is still fine.
    assert [e.event_id for e in await take(await log.subscribe(Start.after(appended[2].cursor)), 3)] == [
        e.event_id for e in appended[3:]
    ]
    assert await log.bounds() == (appended[3].seq, appended[5].seq)


async def test_slow_reader_behind_retention_gets_cursor_expired(make_log: LogFactory) -> None:
    log = await make_log(retain=3, pull_batch=1)
    sub = await log.subscribe(Start.now())
    await append(log)
    await take(sub, 1)
    for _ in range(10):
        await append(log)
    with pytest.raises(CursorExpired) as caught:
        for _ in range(10):
            await sub.next(WAIT)
    resumed = await log.subscribe(Start.after(caught.value.oldest_cursor))
    assert len(await take(resumed, 3)) == 3
    # The failed subscription keeps failing the same way.
    with pytest.raises(CursorExpired):
        await sub.next(0)


async def test_slow_subscriber_does_not_hold_up_appends_or_others(make_log: LogFactory) -> None:
    log = await make_log()
    slow = await log.subscribe(Start.now())
    fast = await log.subscribe(Start.now())
    appended = [await append(log, "call.dtmf.received") for _ in range(300)]
    assert [e.event_id for e in await take(fast, 300)] == [e.event_id for e in appended]
    # The slow one still gets everything, at its own pace, later.
    assert [e.event_id for e in await take(slow, 300)] == [e.event_id for e in appended]


async def test_cancelled_wait_loses_nothing(make_log: LogFactory) -> None:
    log = await make_log()
    sub = await log.subscribe(Start.now())
    waiting = asyncio.create_task(sub.next())
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    event = await append(log)
    (seen,) = await take(sub, 1)
    assert seen.event_id == event.event_id


async def test_close_of_the_log_ends_subscriptions(make_log: LogFactory) -> None:
    log = await make_log()
    sub = await log.subscribe(Start.now())
    waiting = asyncio.create_task(sub.next())
    await asyncio.sleep(0.05)
    await log.close()
    with pytest.raises(LogClosed):
        await asyncio.wait_for(waiting, WAIT)
    with pytest.raises(LogClosed):
        await sub.next(0)
    with pytest.raises(LogUnavailable):
        await append(log)


async def test_close_of_a_subscription_stops_iteration(make_log: LogFactory) -> None:
    log = await make_log()
    sub = await log.subscribe(Start.now())
    await append(log)
    received: list[StoredEvent] = []
    got_one = asyncio.Event()

    async def consume() -> None:
        async for event in sub:
            received.append(event)
            got_one.set()

    consumer = asyncio.create_task(consume())
    await asyncio.wait_for(got_one.wait(), WAIT)
    await sub.close()
    await asyncio.wait_for(consumer, WAIT)  # ends without error
    assert len(received) == 1


async def test_bad_cursors_are_refused(make_log: LogFactory) -> None:
    log = await make_log()
    event = await append(log)
    ahead = encode_cursor(event.seq + 5, epoch=log.epoch)
    with pytest.raises(InvalidCursor):
        await log.subscribe(Start.after(ahead))
    foreign = encode_cursor(event.seq, epoch=(log.epoch + 1) % 2**32)
    with pytest.raises(CursorExpired):
        await log.subscribe(Start.after(foreign))
    with pytest.raises(ValueError):
        await log.subscribe(Start.now(), ["call..bad"])


async def test_bounds(make_log: LogFactory) -> None:
    log = await make_log()
    assert await log.bounds() == (None, None)
    first = await append(log)
    last = await append(log)
    assert await log.bounds() == (first.seq, last.seq)


async def test_malformed_appends_are_refused(make_log: LogFactory) -> None:
    log = await make_log()
    for event_id, event_type, attempt in [
        ("", "call.x", 1),
        ("a b", "call.x", 1),
        ("id", "call.*", 1),
        ("id", "call.x", 0),
        ("id", "", 1),
    ]:
        with pytest.raises(ValueError):
            await log.append(b"{}", event_id, event_type, attempt)
    assert await log.bounds() == (None, None)


# -- NATS: several replicas on one stream ----------------------------------------------------------


@pytest.fixture
async def two_replicas(nats_server: NatsServer) -> AsyncIterator[tuple[NatsEventLog, NatsEventLog]]:
    names = unique_log_names()
    logs = [NatsEventLog(nats_server.url, **names, pull_expires_s=0.5, consumer_inactive_s=5) for _ in "ab"]
    for log in logs:
        await log.start()
    yield logs[0], logs[1]
    for log in logs:
        await log.close()


async def test_nats_event_appended_on_one_replica_reaches_subscribers_of_another(
    two_replicas: tuple[NatsEventLog, NatsEventLog],
) -> None:
    a, b = two_replicas
    assert a.epoch == b.epoch
    sub = await b.subscribe(Start.now(), ["call."])
    event = await append(a, "call.answered")
    (seen,) = await take(sub, 1)
    assert (seen.event_id, seen.cursor, seen.raw) == (event.event_id, event.cursor, event.raw)
    # A redelivery reaching the other replica is still recognised.
    raw, _ = body("call.answered", event_id=event.event_id, attempt=2)
    again = await b.append(raw, event.event_id, "call.answered", 2)
    assert again.duplicate
    assert again.event.cursor == event.cursor
    await assert_nothing_more(sub)


async def test_nats_subscriber_switching_replica_misses_nothing(
    two_replicas: tuple[NatsEventLog, NatsEventLog],
) -> None:
    a, b = two_replicas
    on_a = await a.subscribe(Start.now())
    first = [await append(a if i % 2 else b) for i in range(6)]
    seen = await take(on_a, 4)
    await on_a.close()
    second = [await append(b) for _ in range(3)]

    on_b = await b.subscribe(Start.after(seen[-1].cursor))
    rest = await take(on_b, 5)
    assert [e.event_id for e in seen + rest] == [e.event_id for e in first + second]
    await assert_nothing_more(on_b)


async def test_nats_stream_deleted_and_created_again_is_a_new_log_for_every_replica(
    two_replicas: tuple[NatsEventLog, NatsEventLog],
) -> None:
    a, b = two_replicas
    old = await append(a)
    reader = await a.subscribe(Start.now())
    await a.connection.jetstream().delete_stream(a.stream)

    # The next append creates the stream again, as a start would.
    fresh = await append(a)
    assert fresh.seq == 1
    assert fresh.cursor != old.cursor
    # Positions in the old stream mean nothing now: its reader is told to start over, its cursors refused.
    with pytest.raises(CursorExpired):
        await reader.next(WAIT)
    with pytest.raises(CursorExpired):
        await a.subscribe(Start.after(old.cursor))
    # The other replica notices too, and both issue the same cursors.
    with pytest.raises(CursorExpired):
        await b.subscribe(Start.after(old.cursor))
    on_b = await b.subscribe(Start.oldest())
    (seen,) = await take(on_b, 1)
    assert (seen.event_id, seen.cursor) == (fresh.event_id, fresh.cursor)
    assert b.epoch == a.epoch


async def test_nats_a_reader_behind_a_gap_rides_out_a_short_outage(tmp_path: Path) -> None:
    # A filtered reader whose next buffered event follows a gap must ask NATS about the gap; with NATS down it
    # waits for the connection (within the grace period) instead of failing at once.
    with NatsServer(tmp_path) as server:
        log = NatsEventLog(server.url, **unique_log_names(), outage_grace_s=30.0)
        await log.start()
        try:
            sub = await log.subscribe(Start.now(), ["call.answered"])
            await append(log, "call.answered")
            await append(log, "call.hangup")
            third = await append(log, "call.answered")
            await take(sub, 1)
            await asyncio.sleep(0.3)  # the third event is buffered now, behind the hangup's gap
            server.kill()
            reading = asyncio.create_task(sub.next(WAIT))
            await asyncio.sleep(0.5)
            server.restart()
            seen = await reading
            assert seen is not None
            assert seen.event_id == third.event_id
        finally:
            await log.close()


async def test_nats_unreachable_server_is_unavailable() -> None:
    log = NatsEventLog("nats://127.0.0.1:1", **unique_log_names(), connect_timeout_s=0.5)
    with pytest.raises(LogUnavailable):
        await log.start()


async def test_nats_append_fails_when_server_is_gone(tmp_path: Path) -> None:
    server = NatsServer(tmp_path)
    server.start()
    log = NatsEventLog(server.url, **unique_log_names(), request_timeout_s=0.5)
    try:
        await log.start()
        await append(log)
        server.stop()
        with pytest.raises(LogUnavailable):
            await append(log)
    finally:
        server.stop()
        await log.close()


async def test_nats_append_the_stream_refuses_is_unavailable_with_the_servers_reason(
    nats_server: NatsServer,
) -> None:
    log = NatsEventLog(nats_server.url, **unique_log_names())
    await log.start()
    try:
        js = log.connection.jetstream()
        config = (await js.stream_info(log.stream)).config
        config.max_msgs, config.discard = 1, api.DiscardPolicy.NEW
        await js.update_stream(config)
        await append(log)
        with pytest.raises(LogUnavailable, match="maximum messages exceeded"):
            await append(log)
        assert (await log.bounds()) == (1, 1)
    finally:
        await log.close()


async def test_nats_append_whose_ack_comes_too_late_is_unavailable_and_the_late_ack_is_ignored(
    nats_server: NatsServer,
) -> None:
    log = NatsEventLog(nats_server.url, **unique_log_names())
    await log.start()
    try:
        log.connection.request_timeout_s = 1e-6  # expires before any answer can cross the loopback
        with pytest.raises(LogUnavailable, match="TimeoutError"):
            await append(log)
        log.connection.request_timeout_s = 5.0
        await asyncio.sleep(0.2)  # the late ack arrives meanwhile, for a publish no longer waiting
        later = await append(log)
        assert later.seq == 2  # the first was stored all the same: a redelivery of it would be a duplicate
    finally:
        await log.close()


async def test_nats_consumer_lost_on_server_is_recreated(nats_server: NatsServer) -> None:
    log = NatsEventLog(nats_server.url, **unique_log_names(), pull_expires_s=0.5, consumer_inactive_s=5)
    await log.start()
    try:
        sub = await log.subscribe(Start.now())
        await append(log)
        await take(sub, 1)
        # Remove the reader's consumer behind its back, as an inactivity timeout would.
        for name in await log.connection.jetstream().consumers_info(log.stream):
            await log.connection.jetstream().delete_consumer(log.stream, name.name)
        event = await append(log)
        (seen,) = await take(sub, 1)
        assert seen.event_id == event.event_id
    finally:
        await log.close()


# -- memory only -----------------------------------------------------------------------------------


async def test_memory_thousands_of_idle_subscribers() -> None:
    log = MemoryEventLog()
    filtered = [await log.subscribe(Start.now(), ["call.hangup"]) for _ in range(1000)]
    unfiltered = [await log.subscribe(Start.now()) for _ in range(1000)]
    tasks = {sub: asyncio.create_task(sub.next(WAIT)) for sub in filtered + unfiltered}
    await asyncio.sleep(0)
    assert log.parked_readers == 2000

    answered = await append(log, "call.answered")
    done = await asyncio.gather(*(tasks[s] for s in unfiltered))
    assert {e.event_id for e in done if e} == {answered.event_id}
    await asyncio.sleep(0)
    # The non-matching append woke none of the filtered readers.
    assert log.parked_readers == 1000
    assert not any(tasks[s].done() for s in filtered)

    hangup = await append(log, "call.hangup")
    done = await asyncio.gather(*(tasks[s] for s in filtered))
    assert {e.event_id for e in done if e} == {hangup.event_id}
    await log.close()


async def test_memory_idle_filtered_reader_is_not_expired_by_unrelated_traffic() -> None:
    log = MemoryEventLog(max_events=3)
    sub = await log.subscribe(Start.now(), ["call.hangup"])
    waiting = asyncio.create_task(sub.next(WAIT))
    await asyncio.sleep(0)  # let it park: a reader that is waiting has seen everything so far
    for _ in range(10):
        await append(log, "call.answered")
    hangup = await append(log, "call.hangup")
    seen = await waiting
    assert seen is not None
    assert seen.event_id == hangup.event_id


async def test_memory_filtered_reader_whose_wait_times_out_is_not_expired_by_unrelated_traffic() -> None:
    log = MemoryEventLog(max_events=3)
    sub = await log.subscribe(Start.now(), ["call.hangup"])
    waiting = asyncio.create_task(sub.next(0.2))
    await asyncio.sleep(0)  # parked
    for _ in range(10):
        await append(log, "call.answered")  # evicted in turn; none is for this reader
    assert await waiting is None  # the wait ran out: nothing for it, nothing lost
    hangup = await append(log, "call.hangup")
    (seen,) = await take(sub, 1)
    assert seen.event_id == hangup.event_id


async def test_memory_retention_expires_a_reader_only_for_events_it_would_have_received() -> None:
    log = MemoryEventLog(max_events=3)
    slow = await log.subscribe(Start.now(), ["call.hangup"])
    behind = await log.subscribe(Start.now(), ["call.hangup"])
    for _ in range(10):
        await append(log, "call.answered")
    # Neither has read anything; only unrelated events were evicted past them.
    hangup = await append(log, "call.hangup")
    (seen,) = await take(slow, 1)
    assert seen.event_id == hangup.event_id
    # A resumed cursor gets the same treatment.
    resumed = await log.subscribe(Start.after(log.cursor(0)), ["call.hangup"])
    assert (await take(resumed, 1))[0].event_id == hangup.event_id
    # Once an event the filter matches is evicted unread, the reader is told.
    for _ in range(3):
        await append(log, "call.answered")
    with pytest.raises(CursorExpired):
        await behind.next(0)


async def test_memory_retention_by_age() -> None:
    now = [1000.0]
    log = MemoryEventLog(max_age_s=60, clock=lambda: now[0])
    old = await append(log)
    now[0] += 30
    young = await append(log)
    now[0] += 45  # `old` is 75 s old now, `young` 45 s
    assert await log.bounds() == (young.seq, young.seq)
    with pytest.raises(CursorExpired):
        await log.subscribe(Start.after(encode_cursor(old.seq - 1, log.epoch)))
    sub = await log.subscribe(Start.oldest())
    assert [e.event_id for e in await take(sub, 1)] == [young.event_id]
    # Once its first copy is gone, an id can be stored again.
    raw, _ = body("call.answered", event_id=old.event_id)
    assert not (await log.append(raw, old.event_id, "call.answered", 1)).duplicate


@pytest.mark.parametrize("remembered_ids", [0, 1000])
async def test_memory_retention_by_age_after_the_log_emptied(remembered_ids: int) -> None:
    now = [1000.0]
    log = MemoryEventLog(max_age_s=60, max_remembered_ids=remembered_ids, clock=lambda: now[0])
    await append(log)
    now[0] += 61
    assert await log.bounds() == (None, 1)  # aged out: the log is empty
    later = await append(log)
    now[0] += 59
    assert await log.bounds() == (later.seq, later.seq)
    now[0] += 2  # `later` is 61 s old
    assert await log.bounds() == (None, later.seq)
    sub = await log.subscribe(Start.oldest())
    assert await sub.next(0.05) is None


async def test_memory_cursor_from_an_earlier_process_is_expired() -> None:
    earlier, current = MemoryEventLog(), MemoryEventLog()
    event = await append(earlier)
    await append(current)
    with pytest.raises(CursorExpired):
        await current.subscribe(Start.after(event.cursor))


async def test_memory_event_appended_as_a_wait_times_out_is_not_skipped() -> None:
    """An append landing between a wait's timeout and the reader resuming is still delivered."""
    log = MemoryEventLog()
    await log.start()
    sub = await log.subscribe(Start.now(), ["call.answered"])
    delivered = []
    for i in range(10):
        task = asyncio.create_task(sub.next(max_wait=0.01))
        appended = False
        while not task.done():
            parked = sub._parked  # type: ignore[attr-defined]
            # The deadline has resolved the wait, but the reader has not resumed yet.
            if parked is not None and parked.done() and not appended:
                await log.append(b"{}", f"ev{i}", "call.answered")
                appended = True
            await asyncio.sleep(0)
        event = task.result() or await sub.next(max_wait=1.0)
        assert event is not None, f"event ev{i} was skipped"
        delivered.append(event.event_id)
    assert delivered == [f"ev{i}" for i in range(10)]
    await log.close()
