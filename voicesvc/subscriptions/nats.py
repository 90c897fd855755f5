"""Subscriptions on NATS JetStream: every replica serves members of every subscription, and the group's
state lives in JetStream, so a replica can die without losing anything.

Storage (all in JetStream):

* a durable pull consumer per subscription (`VSUB_<id>`) on the event stream, with the subscription's
  type filter and start point and explicit acks: an acked event is acked there, and only there, so acks
  survive every restart;
* KV buckets named after the event stream: `<stream>_SUBSCRIPTIONS` holds per subscription `sub.<id>` the
  configuration, `leader.<id>` the leader's lease (replica, gRPC address, expiry) and `fig.<id>` the live
  figures the leader last published; `<stream>_SUB_<id>` the group state: `member.<m>` each connected member,
  `call.<c>` which member holds each call, `att.<seq>` the delivery attempts of an unfinished event (member
  ids and call sessions hex-encoded); `<stream>_DEAD_<id>` one key per dead letter (its stream sequence).

A member is connected while its stream to the leader is open: a member on another replica reaches the
leader through that replica, so when either process dies the stream breaks and the member leaves (its
deliveries are given back and its calls move). The leader's own liveness is its lease.

Coordination. Per subscription one replica is the leader: it holds a lease in `leader.<id>` (renewed every
`lease_s / 3`, taken over by another replica once it has expired) and is the only reader of the durable
consumer. A replica runs one election of a subscription at a time (its follow loop and every member joining
there elect), so it never starts a second engine that would take events from the consumer for nobody.
The leader runs the same group engine as the memory backend (affinity, deadlines, redelivery, dead
letters, flow control) for every member of the group. A member that connects to another replica is
relayed there to the leader's gRPC address (`address`; the servicer proxies the stream), so members on any
replica share the subscription. The reason for one reader: per-call ordering needs one place that sees a
call's events in order and knows which of them is outstanding; JetStream hands a message to one puller
at a time, but it has no notion of "the next event of this call waits for the previous ack" (nats-server
2.11+ priority groups pin a whole consumer to one client, not one key), and competing pullers that nak
what is not theirs would count fake deliveries.

The leader keeps each event it holds alive in JetStream with `in_progress` every `hold_s / 3`; the
consumer's AckWait is `hold_s`, not the subscription's ack deadline, which the engine enforces per delivery.
When the leader dies, its lease expires, another replica takes over, and JetStream redelivers what the
old leader held within `hold_s`; the new leader holds deliveries back until it has them all again (the
consumer's `num_ack_pending` at takeover), so each call still goes on from its first unacked event, in
order. Attempts are counted in `att.<id>.<seq>` (JetStream's delivery count also counts redeliveries to a
new leader, which are no deliveries to a member), call ownership is read back from `call.<id>.<c>`, dead
letters from `dead.<id>.<seq>` (the event itself stays in the stream; the JetStream message is terminated).
A redriven dead letter stays in KV, marked, until it is acked, so a failover does not lose it.

Semantics differ from the memory backend in two ways: figures read on a replica that is not the leader
are the leader's, up to a second old; and deliveries held by a leader that dies are delivered again (with
the attempt count they had), as JetStream's at-least-once delivery implies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

import nats.errors
import nats.js.errors
import structlog
from nats.aio.msg import Msg
from nats.js import api
from nats.js.kv import KeyValue

from voicesvc.events.log import EventFilter, LogClosed, LogUnavailable, Start, StoredEvent
from voicesvc.events.nats import NatsEventLog
from voicesvc.events.nats.errors import mapped_errors
from voicesvc.events.nats.messages import decode_event, filter_subjects
from voicesvc.events.nats.pull import API_PREFIX
from voicesvc.subscriptions.engine import DEFAULT_READ_AHEAD, EngineSession, Entry, GroupEngine, GroupHooks
from voicesvc.subscriptions.model import (
    AlreadyExists,
    DeadLetter,
    Figures,
    MemberSession,
    NotFound,
    SubscriptionBackend,
    SubscriptionConfig,
    SubscriptionState,
    correlation_of,
)

__all__ = ["LeaderElsewhere", "NatsSubscriptions"]

logger = structlog.get_logger("voicesvc.subscriptions.nats")

FETCH_BATCH = 256
FIGURES_EVERY_S = 1.0


class LeaderElsewhere(LogUnavailable):
    """The subscription's group is served by another replica, at `address` (relay the stream there)."""

    def __init__(self, address: str) -> None:
        super().__init__(f"the subscription is served by the replica at {address}")
        self.address = address


def _hex(text: str) -> str:
    return text.encode("utf-8").hex()


def _config_json(config: SubscriptionConfig) -> bytes:
    start = config.start
    return json.dumps(
        {
            "subscription_id": config.subscription_id,
            "event_types": list(config.event_types),
            "call_control_ids": sorted(config.call_control_ids),
            "call_session_ids": sorted(config.call_session_ids),
            "connection_ids": sorted(config.connection_ids),
            "ack_deadline_s": config.ack_deadline_s,
            "max_delivery_attempts": config.max_delivery_attempts,
            "ordering": config.ordering,
            "start": {"kind": start.kind, "cursor": start.cursor, "time": start.time},
            "create_time": config.create_time,
        }
    ).encode()


def _config_of(raw: bytes) -> SubscriptionConfig:
    data = json.loads(raw)
    start = data["start"]
    kind = start["kind"]
    begin = (
        Start.at(start["time"])
        if kind == "time"
        else Start.after(start["cursor"])
        if kind == "after"
        else Start.oldest()
        if kind == "oldest"
        else Start.now()
    )
    return SubscriptionConfig(
        subscription_id=data["subscription_id"],
        event_types=tuple(data["event_types"]),
        call_control_ids=frozenset(data["call_control_ids"]),
        call_session_ids=frozenset(data["call_session_ids"]),
        connection_ids=frozenset(data["connection_ids"]),
        ack_deadline_s=float(data["ack_deadline_s"]),
        max_delivery_attempts=int(data["max_delivery_attempts"]),
        ordering=data["ordering"],
        start=begin,
        create_time=float(data["create_time"]),
    )


class _Writes:
    """KV and ack operations of a leader, applied in order by one task (hooks are synchronous)."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Callable[[], Awaitable[object]]] = asyncio.Queue()
        self._urgent: set[asyncio.Task[None]] = set()
        self._task = asyncio.get_running_loop().create_task(self._run())

    def add(self, operation: Callable[[], Awaitable[object]]) -> None:
        """Queue `operation` behind the others."""
        self._queue.put_nowait(operation)

    def now(self, operation: Awaitable[object]) -> None:
        """Send `operation` at once, ahead of the queue (acks: an ack the figures count must not wait)."""
        task = asyncio.get_running_loop().create_task(_quietly(operation))
        self._urgent.add(task)
        task.add_done_callback(self._urgent.discard)

    async def _run(self) -> None:
        while True:
            operation = await self._queue.get()
            try:
                await operation()
            except Exception as exc:  # noqa: BLE001 - one failed write must not stop the others
                logger.warning("subscription_write_failed", error=str(exc))
            finally:
                self._queue.task_done()

    async def drain(self, limit_s: float = 2.0) -> None:
        """Wait (up to `limit_s`) for the queued writes, then stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), limit_s)
            if self._urgent:
                await asyncio.wait(list(self._urgent), timeout=limit_s)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def _quietly(operation: Awaitable[object]) -> None:
    try:
        await operation
    except Exception as exc:  # noqa: BLE001 - a lost ack means one more delivery, never a failure here
        logger.warning("subscription_ack_failed", error=str(exc))


class _Hooks(GroupHooks):
    """What the leader's engine settles, written to JetStream."""

    def __init__(self, state: KeyValue, dead: KeyValue, writes: _Writes, clock: Callable[[], float]) -> None:
        self._kv = state
        self._dead = dead
        self._writes = writes
        self._clock = clock

    def delivered(self, entry: Entry) -> None:
        self._writes.now(self._kv.put(f"att.{entry.event.seq}", str(entry.attempts).encode()))

    def acked(self, entry: Entry) -> None:
        msg = entry.handle
        seq = entry.event.seq
        if isinstance(msg, Msg):
            self._writes.now(msg.ack())
        if entry.redriven:
            self._writes.add(lambda: self._dead.purge(str(seq)))
        # `att.<seq>` stays until the bucket's age limit: an acked event is never read again.

    def dead_lettered(self, entry: Entry, letter: DeadLetter) -> None:
        msg = entry.handle
        seq = entry.event.seq
        value = json.dumps(
            {
                "attempts": letter.attempts,
                "last_attempt_time": letter.last_attempt_time,
                "dead_letter_time": letter.dead_letter_time,
                "redrive": False,
            }
        ).encode()
        self._writes.add(lambda: self._dead.put(str(seq), value))
        if isinstance(msg, Msg):
            self._writes.add(msg.term)

    def assigned(self, key: str, member_id: str) -> None:
        self._writes.now(self._kv.put(f"call.{_hex(key)}", member_id.encode()))

    def joined(self, member_id: str) -> None:
        since = json.dumps({"member_id": member_id, "since": self._clock()}).encode()
        self._writes.add(lambda: self._kv.put(f"member.{_hex(member_id)}", since))

    def left(self, member_id: str) -> None:
        self._writes.add(lambda: self._kv.purge(f"member.{_hex(member_id)}"))


class _Coordinator:
    """Leadership of one subscription on this replica, and the group engine while it leads."""

    def __init__(self, backend: NatsSubscriptions, config: SubscriptionConfig, revision: int) -> None:
        self.backend = backend
        self.config = config
        self.revision = revision
        self.leader_address = ""
        self.engine: GroupEngine | None = None
        self._leader_revision: int | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._writes: _Writes | None = None
        self._state: KeyValue | None = None
        self._electing = asyncio.Lock()
        """One election at a time: the follow loop and every joining member elect, and two elections
        that both found the lease free or theirs would each start an engine reading the consumer."""

    @property
    def subscription_id(self) -> str:
        return self.config.subscription_id

    @property
    def leading(self) -> bool:
        return self.engine is not None and not self.engine.closed

    # -- leadership --------------------------------------------------------------------------------

    async def elect(self) -> None:
        """Take, renew or observe the leader's lease (one election at a time per subscription)."""
        async with self._electing:
            await self._elect()

    async def _elect(self) -> None:
        kv, backend = self.backend.kv, self.backend
        key = f"leader.{self.subscription_id}"
        now = backend.clock()
        mine = json.dumps(
            {"replica": backend.replica_id, "address": backend.address, "until": now + backend.lease_s}
        ).encode()
        try:
            entry = await kv.get(key)
        except nats.js.errors.KeyNotFoundError:
            entry = None
        try:
            if entry is None or entry.value is None:
                self._leader_revision = await kv.create(key, mine)
                if not self.leading:
                    await self._lead()
                return
            holder = json.loads(entry.value)
            if holder.get("replica") == backend.replica_id or float(holder.get("until", 0)) < now:
                self._leader_revision = await kv.update(key, mine, last=entry.revision)
                if not self.leading:
                    await self._lead()
                return
            self.leader_address = str(holder.get("address", ""))
        except (
            nats.js.errors.KeyWrongLastSequenceError,
            nats.js.errors.BadRequestError,
            nats.js.errors.APIError,
        ):
            # Another replica renewed or took the lease first.
            pass
        if self.leading:
            logger.warning("subscription_leadership_lost", subscription=self.subscription_id)
            await self.step_down(LogUnavailable("this replica no longer serves the subscription; reconnect"))

    async def resign(self) -> None:
        """Give the lease up at once (clean shutdown), so another replica takes over without waiting."""
        if self._leader_revision is not None:
            with contextlib.suppress(Exception):
                await self.backend.kv.delete(f"leader.{self.subscription_id}", last=self._leader_revision)
            self._leader_revision = None

    async def _lead(self) -> None:
        backend = self.backend
        self._writes = writes = _Writes()
        self._state = await backend.bucket("SUB", self.subscription_id)
        dead = await backend.bucket("DEAD", self.subscription_id)
        hooks = _Hooks(self._state, dead, writes, backend.clock)
        engine = GroupEngine(self.config, backend.read_ahead, backend.clock, hooks)
        js = backend.log.connection.jetstream()
        info: api.ConsumerInfo | None = None
        try:
            with (
                mapped_errors("cannot read the subscription's consumer"),
                contextlib.suppress(nats.js.errors.NotFoundError),
            ):
                info = await js.consumer_info(backend.log.stream, _consumer_name(self.subscription_id))
            if info is not None:
                await self._restore_dead_letters(engine)
        except BaseException:
            await writes.drain(0)
            raise
        if info is None:
            await writes.drain(0)
            raise NotFound(f"subscriptions/{self.subscription_id} does not exist")
        pending = info.num_ack_pending or 0
        delivered = info.delivered.stream_seq if info.delivered is not None else 0
        if pending:
            engine.pause()
        self.engine = engine
        self.leader_address = backend.address
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._fetch(engine, pending, delivered or 0)),
            loop.create_task(self._keep_alive(engine)),
        ]
        logger.info("subscription_leading", subscription=self.subscription_id, pending=pending)

    async def step_down(self, error: BaseException) -> None:
        """Stop leading: members' streams end with `error`; what the engine held goes back to JetStream at
        once (nak), for the next leader."""
        engine, self.engine = self.engine, None
        if engine is not None:
            for entry in engine.unfinished():
                if isinstance(entry.handle, Msg):
                    with contextlib.suppress(Exception):
                        await entry.handle.nak()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if engine is not None:
            await engine.close(error)
        if self._writes is not None:
            await self._writes.drain()
            self._writes = None

    async def _restore_dead_letters(self, engine: GroupEngine) -> None:
        for seq, value in await self.backend.dead_letter_records(self.subscription_id):
            stored = await self.backend.stored_event(seq)
            if stored is None:
                continue
            if value.get("redrive"):
                engine.offer(stored, None, 0, redriven=True)
            else:
                engine.restore_dead_letter(
                    DeadLetter(
                        stored,
                        int(value["attempts"]),
                        float(value["last_attempt_time"]),
                        float(value["dead_letter_time"]),
                    )
                )

    async def _fetch(self, engine: GroupEngine, pending: int, delivered: int) -> None:
        backend = self.backend
        js = backend.log.connection.jetstream()
        psub = await js.pull_subscribe_bind(
            durable=_consumer_name(self.subscription_id), stream=backend.log.stream
        )
        gathered: set[int] = set()
        gate_ends = asyncio.get_running_loop().time() + backend.hold_s * 2
        try:
            while not engine.closed:
                await engine.wait_for_room()
                if pending and (len(gathered) >= pending or asyncio.get_running_loop().time() > gate_ends):
                    pending = 0
                    engine.resume()
                try:
                    msgs = await psub.fetch(FETCH_BATCH, timeout=0.5)
                except (nats.errors.TimeoutError, TimeoutError):
                    continue
                except nats.js.errors.NotFoundError:
                    await self.step_down(NotFound(f"subscriptions/{self.subscription_id} was deleted"))
                    return
                except (nats.errors.ConnectionClosedError, nats.errors.NoRespondersError, LogClosed):
                    await asyncio.sleep(0.5)
                    continue
                for msg in msgs:
                    seq = msg.metadata.sequence.stream
                    if pending and seq <= delivered:
                        gathered.add(seq)
                    await self._take(engine, msg, seq)
        finally:
            with contextlib.suppress(Exception):
                await psub.unsubscribe()

    async def _take(self, engine: GroupEngine, msg: Msg, seq: int) -> None:
        backend, kv = self.backend, self._state
        assert kv is not None
        if engine.holds(seq):
            engine.offer(_placeholder(seq), msg)  # a redelivery of what the engine holds: keep the new handle
            return
        prefix = backend.log.connection.spec.subject_prefix
        stored_at = msg.metadata.timestamp.timestamp()
        stored = decode_event(
            prefix, seq, backend.log.cursor(seq), msg.subject, msg.headers, msg.data, stored_at
        )
        attempts = 0
        if msg.metadata.num_delivered > 1:
            with contextlib.suppress(nats.js.errors.KeyNotFoundError):
                entry = await kv.get(f"att.{seq}")
                attempts = int(entry.value or b"0")
        session = correlation_of(stored).call_session_id
        known = session in engine.preferred or engine.owner_of(session) is not None
        if session and self.config.ordering == "per_call" and not known:
            with contextlib.suppress(nats.js.errors.KeyNotFoundError):
                owner = await kv.get(f"call.{_hex(session)}")
                if owner.value:
                    engine.preferred.setdefault(session, owner.value.decode())
        if not engine.offer(stored, msg, attempts):
            await msg.ack()  # not for this subscription (its id filters)

    async def _keep_alive(self, engine: GroupEngine) -> None:
        backend, kv = self.backend, self.backend.kv
        hold_every = backend.hold_s / 3
        next_hold = 0.0
        loop = asyncio.get_running_loop()
        while not engine.closed:
            await asyncio.sleep(min(FIGURES_EVERY_S, hold_every))
            if loop.time() >= next_hold:
                next_hold = loop.time() + hold_every
                for entry in engine.unfinished():
                    if isinstance(entry.handle, Msg):
                        with contextlib.suppress(Exception):
                            await entry.handle.in_progress()
                await self._redrive_marked(engine)
            figures = json.dumps(asdict(engine.figures())).encode()
            with contextlib.suppress(Exception):
                await kv.put(f"fig.{self.subscription_id}", figures)

    async def _redrive_marked(self, engine: GroupEngine) -> None:
        """Dead letters another replica marked for redrive go back in front of the subscription."""
        held = {letter.event.seq: letter.event.event_id for letter in engine.dead_letters()}
        for seq, value in await self.backend.dead_letter_records(self.subscription_id):
            if value.get("redrive") and seq in held:
                engine.redrive([held[seq]])


def _placeholder(seq: int) -> StoredEvent:
    return StoredEvent(seq, "", "", "", 0.0, 1, b"")


def _consumer_name(subscription_id: str) -> str:
    return f"VSUB_{subscription_id}"


class NatsSubscriptions(SubscriptionBackend):
    """Subscriptions whose group state lives in JetStream, over the events of `log` (module docstring).

    `address` must be set (to this replica's gRPC address, reachable by the other replicas) before members
    join. `lease_s` bounds how long a dead leader keeps a subscription; `hold_s` how long JetStream waits
    before redelivering what a dead leader held.
    """

    def __init__(
        self,
        log: NatsEventLog,
        *,
        lease_s: float = 3.0,
        hold_s: float = 5.0,
        read_ahead: int = DEFAULT_READ_AHEAD,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.log = log
        self.lease_s = lease_s
        self.hold_s = hold_s
        # Attempts and call assignments outlive no event: the stream's retention bounds them too.
        retention = log.connection.spec.max_age_s
        self.state_ttl_s: float | None = retention if retention > 0 else None
        self.read_ahead = read_ahead
        self.clock = clock
        self.replica_id = uuid.uuid4().hex
        self.address = ""
        self._kv: KeyValue | None = None
        self._coordinators: dict[str, _Coordinator] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def kv(self) -> KeyValue:
        """The KV bucket of subscription state."""
        if self._kv is None:
            raise LogUnavailable("subscriptions are not started")
        return self._kv

    @property
    def _config_bucket(self) -> str:
        return f"{self.log.stream}_SUBSCRIPTIONS"

    async def start(self) -> None:
        """Open (or create) the KV bucket and start following the subscriptions."""
        js = self.log.connection.jetstream()
        with mapped_errors("cannot open the subscriptions bucket"):
            bucket = self._config_bucket
            try:
                self._kv = await js.key_value(bucket)
            except nats.js.errors.BucketNotFoundError:
                self._kv = await js.create_key_value(api.KeyValueConfig(bucket=bucket, history=1))
        await self._refresh()
        self._loop_task = asyncio.get_running_loop().create_task(self._follow())

    async def close(self) -> None:
        """Stop leading (resigning every lease, so others take over at once); streams end with `LogClosed`."""
        self._closed = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._loop_task
        for coordinator in list(self._coordinators.values()):
            await coordinator.step_down(LogClosed("voicesvc is shutting down"))
            await coordinator.resign()
        self._coordinators.clear()

    # -- following the subscriptions ------------------------------------------------------------------

    async def _follow(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.lease_s / 3)
            try:
                await self._refresh()
            except Exception as exc:  # noqa: BLE001 - NATS may be away for a while; try again next round
                logger.warning("subscriptions_refresh_failed", error=str(exc))

    async def _refresh(self) -> None:
        configs = await self._configs()
        for subscription_id in list(self._coordinators):
            if subscription_id not in configs:
                gone = self._coordinators.pop(subscription_id)
                await gone.step_down(NotFound(f"subscriptions/{subscription_id} was deleted"))
        for subscription_id, (config, revision) in configs.items():
            coordinator = self._coordinators.get(subscription_id)
            if coordinator is None:
                coordinator = self._coordinators[subscription_id] = _Coordinator(self, config, revision)
            elif revision != coordinator.revision:
                coordinator.config, coordinator.revision = config, revision
                if coordinator.engine is not None:
                    coordinator.engine.config = config
            if self.address:
                try:
                    await coordinator.elect()
                except NotFound:
                    self._coordinators.pop(subscription_id, None)

    async def _configs(self) -> dict[str, tuple[SubscriptionConfig, int]]:
        found: dict[str, tuple[SubscriptionConfig, int]] = {}
        for key in await self._keys(self._config_bucket, "sub."):
            with contextlib.suppress(nats.js.errors.KeyNotFoundError):
                entry = await self.kv.get(key)
                if entry.value:
                    found[key.removeprefix("sub.")] = (_config_of(entry.value), entry.revision or 0)
        return found

    async def _keys(self, bucket: str, prefix: str = "") -> list[str]:
        """The keys of KV `bucket` that start with `prefix` (deleted ones included: their `get` fails).

        Read from the bucket stream's per-subject state, page by page, rather than with nats-py's
        `KeyValue.keys()`: its watcher can end the initial replay early and return part of the keys, or
        none (nats-io/nats.py#842), which would drop subscriptions from a list without a word.
        """
        nc = self.log.connection.client()
        head = f"$KV.{bucket}."
        keys: list[str] = []
        with mapped_errors("cannot list subscription state"):
            while True:
                request = {"subjects_filter": f"{head}{prefix}>", "offset": len(keys)}
                reply = await nc.request(
                    f"{API_PREFIX}.STREAM.INFO.KV_{bucket}", json.dumps(request).encode(), timeout=5
                )
                info = json.loads(reply.data)
                if "error" in info:
                    error = info["error"]
                    raise nats.js.errors.APIError(
                        code=error.get("code"),
                        err_code=error.get("err_code"),
                        description=error.get("description"),
                    )
                subjects = (info.get("state") or {}).get("subjects") or {}
                keys += [subject.removeprefix(head) for subject in subjects]
                if not subjects or len(keys) >= int(info.get("total") or 0):
                    return keys

    def _bucket_name(self, kind: str, subscription_id: str) -> str:
        return f"{self.log.stream}_{kind}_{subscription_id}"

    async def bucket(self, kind: str, subscription_id: str) -> KeyValue:
        """The KV bucket of one subscription's group state (`SUB`, keys kept `state_ttl_s`) or dead letters
        (`DEAD`, kept until redriven and acked, or the subscription is deleted)."""
        js = self.log.connection.jetstream()
        name = self._bucket_name(kind, subscription_id)
        ttl = self.state_ttl_s if kind == "SUB" else None
        with mapped_errors("cannot open the subscription's state"):
            try:
                return await js.key_value(name)
            except nats.js.errors.BucketNotFoundError:
                return await js.create_key_value(api.KeyValueConfig(bucket=name, history=1, ttl=ttl))

    # -- storage helpers shared by the coordinators --------------------------------------------------

    async def dead_letter_records(self, subscription_id: str) -> list[tuple[int, dict[str, Any]]]:
        """`(seq, record)` of every dead letter of the subscription, oldest event first."""
        records = []
        dead = await self.bucket("DEAD", subscription_id)
        for key in await self._keys(self._bucket_name("DEAD", subscription_id)):
            with contextlib.suppress(nats.js.errors.KeyNotFoundError):
                entry = await dead.get(key)
                if entry.value:
                    records.append((int(key), json.loads(entry.value)))
        return sorted(records, key=lambda r: r[0])

    async def stored_event(self, seq: int) -> StoredEvent | None:
        """The event at `seq` of the stream, or None when the retention dropped it."""
        js = self.log.connection.jetstream()
        with mapped_errors("cannot read a stored event"):
            try:
                msg = await js.get_msg(self.log.stream, seq)
            except nats.js.errors.NotFoundError:
                return None
        prefix = self.log.connection.spec.subject_prefix
        stored_at = msg.time.timestamp() if msg.time else None
        return decode_event(
            prefix, seq, self.log.cursor(seq), msg.subject or "", msg.headers, msg.data or b"", stored_at
        )

    # -- the backend interface ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise LogClosed("voicesvc is shutting down")

    async def _config(self, subscription_id: str) -> tuple[SubscriptionConfig, int]:
        self._check_open()
        entry = None
        with (
            mapped_errors("cannot read the subscription"),
            contextlib.suppress(nats.js.errors.KeyNotFoundError),
        ):
            entry = await self.kv.get(f"sub.{subscription_id}")
        if entry is None or not entry.value:
            raise NotFound(f"subscriptions/{subscription_id} does not exist")
        return _config_of(entry.value), entry.revision or 0

    async def _figures(self, subscription_id: str) -> Figures:
        coordinator = self._coordinators.get(subscription_id)
        if coordinator is not None and coordinator.engine is not None:
            return coordinator.engine.figures()
        with contextlib.suppress(nats.js.errors.KeyNotFoundError):
            entry = await self.kv.get(f"fig.{subscription_id}")
            if entry.value:
                return Figures(**json.loads(entry.value))
        return Figures()

    async def create(self, config: SubscriptionConfig) -> SubscriptionState:
        """Store the configuration, then create the durable consumer at the start point."""
        self._check_open()
        config = replace(config, create_time=self.clock())
        key = f"sub.{config.subscription_id}"
        exists = False
        with mapped_errors("cannot store the subscription"):
            try:
                await self.kv.create(key, _config_json(config))
            except nats.js.errors.KeyWrongLastSequenceError:
                exists = True
        if exists:
            raise AlreadyExists(f"subscriptions/{config.subscription_id} already exists")
        try:
            await self._create_consumer(config)
        except BaseException:
            with contextlib.suppress(Exception):
                await self.kv.delete(key)
            raise
        return SubscriptionState(config, Figures())

    async def _create_consumer(self, config: SubscriptionConfig) -> None:
        js = self.log.connection.jetstream()
        prefix = self.log.connection.spec.subject_prefix
        subjects = filter_subjects(prefix, EventFilter.of(list(config.event_types)))
        consumer = api.ConsumerConfig(
            durable_name=_consumer_name(config.subscription_id),
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=self.hold_s,
            max_deliver=-1,
            max_ack_pending=self.read_ahead,
        )
        start = config.start
        if start.kind == "oldest":
            consumer.deliver_policy = api.DeliverPolicy.ALL
        elif start.kind == "time":
            assert start.time is not None
            consumer.deliver_policy = api.DeliverPolicy.BY_START_TIME
            consumer.opt_start_time = datetime.fromtimestamp(start.time, UTC)
        else:
            state = await self.log.connection.fresh_state()
            consumer.deliver_policy = api.DeliverPolicy.BY_START_SEQUENCE
            consumer.opt_start_seq = state.last_seq + 1
        if len(subjects) == 1:
            consumer.filter_subject = subjects[0]
        else:
            consumer.filter_subjects = subjects
        with mapped_errors("cannot create the subscription's consumer"):
            await js.add_consumer(self.log.stream, config=consumer)

    async def get(self, subscription_id: str) -> SubscriptionState:
        """The configuration and the leader's figures."""
        config, _ = await self._config(subscription_id)
        return SubscriptionState(config, await self._figures(subscription_id))

    async def list_all(self) -> list[SubscriptionState]:
        """Every subscription, in id order."""
        self._check_open()
        configs = await self._configs()
        return [
            SubscriptionState(config, await self._figures(subscription_id))
            for subscription_id, (config, _) in sorted(configs.items())
        ]

    async def update(
        self, subscription_id: str, *, ack_deadline_s: float | None, max_delivery_attempts: int | None
    ) -> SubscriptionState:
        """Write the new delivery settings (the leader picks them up within `lease_s / 3`)."""
        config, revision = await self._config(subscription_id)
        deadline = config.ack_deadline_s if ack_deadline_s is None else ack_deadline_s
        attempts = config.max_delivery_attempts if max_delivery_attempts is None else max_delivery_attempts
        SubscriptionConfig.check_delivery(deadline, attempts)
        config = replace(config, ack_deadline_s=deadline, max_delivery_attempts=attempts)
        with mapped_errors("cannot store the subscription"):
            try:
                await self.kv.update(f"sub.{subscription_id}", _config_json(config), last=revision)
            except nats.js.errors.KeyWrongLastSequenceError:
                raise LogUnavailable("the subscription changed meanwhile; try again") from None
        coordinator = self._coordinators.get(subscription_id)
        if coordinator is not None and coordinator.engine is not None:
            coordinator.engine.config = config
        return SubscriptionState(config, await self._figures(subscription_id))

    async def delete(self, subscription_id: str) -> None:
        """Remove the configuration, the consumer and every key of the subscription."""
        await self._config(subscription_id)
        js = self.log.connection.jetstream()
        with mapped_errors("cannot delete the subscription"):
            await self.kv.delete(f"sub.{subscription_id}")
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_consumer(self.log.stream, _consumer_name(subscription_id))
        for key in (f"leader.{subscription_id}", f"fig.{subscription_id}"):
            with contextlib.suppress(Exception):
                await self.kv.purge(key)
        for kind in ("SUB", "DEAD"):
            with contextlib.suppress(Exception):
                await js.delete_key_value(self._bucket_name(kind, subscription_id))
        coordinator = self._coordinators.pop(subscription_id, None)
        if coordinator is not None:
            await coordinator.step_down(NotFound(f"subscriptions/{subscription_id} was deleted"))

    async def join(self, subscription_id: str, member_id: str, max_outstanding: int) -> MemberSession:
        """Join on this replica when it leads the subscription; else `LeaderElsewhere` names the leader."""
        await self._config(subscription_id)
        coordinator = self._coordinators.get(subscription_id)
        if coordinator is None:
            await self._refresh()
            coordinator = self._coordinators.get(subscription_id)
        if coordinator is None:
            raise NotFound(f"subscriptions/{subscription_id} does not exist")
        engine = coordinator.engine
        if engine is not None and not engine.closed:
            return EngineSession(engine, engine.join(member_id, max_outstanding))
        if coordinator.leader_address and coordinator.leader_address != self.address:
            raise LeaderElsewhere(coordinator.leader_address)
        raise LogUnavailable("the subscription's group is moving to another replica; reconnect")

    async def dead_letters(self, subscription_id: str) -> list[DeadLetter]:
        """The dead letters kept in KV, oldest event first."""
        await self._config(subscription_id)
        letters = []
        for seq, value in await self.dead_letter_records(subscription_id):
            if value.get("redrive"):
                continue
            stored = await self.stored_event(seq)
            if stored is not None:
                letters.append(
                    DeadLetter(
                        stored,
                        int(value["attempts"]),
                        float(value["last_attempt_time"]),
                        float(value["dead_letter_time"]),
                    )
                )
        return letters

    async def redrive(self, subscription_id: str, event_ids: Sequence[str]) -> int:
        """Mark dead letters for redrive; the leader puts them back within `lease_s / 3`."""
        letters = await self.dead_letters(subscription_id)
        by_id = {letter.event.event_id: letter for letter in letters}
        wanted = list(dict.fromkeys(event_ids)) if event_ids else list(by_id)
        missing = [i for i in wanted if i not in by_id]
        if missing:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            raise NotFound(f"not dead letters of subscriptions/{subscription_id}: {shown}")
        dead = await self.bucket("DEAD", subscription_id)
        for event_id in wanted:
            letter = by_id[event_id]
            value = json.dumps(
                {
                    "attempts": letter.attempts,
                    "last_attempt_time": letter.last_attempt_time,
                    "dead_letter_time": letter.dead_letter_time,
                    "redrive": True,
                }
            ).encode()
            with mapped_errors("cannot redrive"):
                await dead.put(str(letter.event.seq), value)
        coordinator = self._coordinators.get(subscription_id)
        if coordinator is not None and coordinator.engine is not None:
            coordinator.engine.redrive(wanted)
        return len(wanted)
