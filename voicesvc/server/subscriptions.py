"""The `Subscriptions` servicer: the contract's subscriptions over a `SubscriptionBackend`.

Requests are validated here (each refusal names its field), translated to the backend's terms and back;
the delivery semantics live in the backend (`voicesvc.subscriptions`). `StreamingPull` runs two halves: a
task reads the member's requests (acks, nacks, deadline changes) and applies them at once, while the
handler sends deliveries as the backend hands them out, and a heartbeat whenever nothing was sent for the
heartbeat interval. Unknown ack ids never end a stream (the backend counts them); a malformed request
does, with INVALID_ARGUMENT; a deleted subscription ends its streams with NOT_FOUND and shutdown with
UNAVAILABLE. When the member's requests end, so does the stream.

On the NATS backend a member whose subscription is led by another replica is relayed there: the stream is
proxied to the leader's gRPC address, with the caller's credentials.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence

import grpc
from google.protobuf import duration_pb2, empty_pb2, timestamp_pb2

from voicesvc.events.log import LogClosed, LogUnavailable, Start
from voicesvc.server.event_convert import EventConverter
from voicesvc.server.status import (
    Rejected,
    abort,
    event_log_unavailable_status,
    invalid_request,
    relayed_status,
    server_shutdown_status,
    subscription_exists_status,
    subscription_not_found_status,
)
from voicesvc.subscriptions.model import (
    DEFAULT_ACK_DEADLINE_S,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_OUTSTANDING,
    MAX_ACK_DEADLINE_S,
    MAX_OUTSTANDING,
    AlreadyExists,
    DeadLetter,
    InvalidField,
    MemberSession,
    NotFound,
    Ordering,
    SubscriptionBackend,
    SubscriptionConfig,
    SubscriptionState,
    validate_member_id,
    validate_subscription_id,
)
from voicesvc.subscriptions.nats import LeaderElsewhere
from voicesvc.v1 import events_pb2, subscriptions_pb2, subscriptions_pb2_grpc

__all__ = ["SubscriptionsServicer"]

NAME_PREFIX = "subscriptions/"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
MAX_IDS_PER_REQUEST = 10_000
DEFAULT_HEARTBEAT_S = 15.0
MIN_HEARTBEAT_S = 1.0
MUTABLE_FIELDS = ("ack_deadline", "max_delivery_attempts")
IMMUTABLE_FIELDS = ("name", "filter", "ordering", "start_position", "start_time")
OUTPUT_FIELDS = (
    "create_time",
    "backlog",
    "outstanding",
    "dead_lettered",
    "acked",
    "ignored_ack_ids",
    "members",
)

_Ordering = subscriptions_pb2.Subscription.Ordering


def _seconds(duration: duration_pb2.Duration, field: str) -> float:
    if duration.seconds < 0 or not 0 <= duration.nanos < 10**9:
        raise invalid_request(field, "must be a valid, non-negative duration")
    return duration.seconds + duration.nanos / 1e9


def _duration(seconds: float) -> duration_pb2.Duration:
    whole = int(seconds)
    return duration_pb2.Duration(seconds=whole, nanos=round((seconds - whole) * 1e9))


def _timestamp(unix_time: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(round(unix_time * 1e9))
    return stamp


def _subscription_id(name: str, field: str) -> str:
    if not name:
        raise invalid_request(field, "required: subscriptions/{subscription_id}")
    if not name.startswith(NAME_PREFIX):
        raise invalid_request(field, f"must be subscriptions/{{subscription_id}}, not {name[:100]!r}")
    subscription_id = name[len(NAME_PREFIX) :]
    try:
        validate_subscription_id(subscription_id, field)
    except InvalidField as exc:
        raise invalid_request(exc.field, exc.description) from None
    return subscription_id


def _page(size: int, token: str, total: int) -> tuple[int, int]:
    """`(offset, end)` of the page a request asks for."""
    if size < 0:
        raise invalid_request("page_size", "must not be negative")
    size = min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    offset = 0
    if token:
        try:
            offset = int(base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii").removeprefix("o:"))
        except (binascii.Error, UnicodeError, ValueError):
            raise invalid_request("page_token", "not a page token issued by this service") from None
        if offset < 0:
            raise invalid_request("page_token", "not a page token issued by this service")
    return offset, min(offset + size, total)


def _next_token(end: int, total: int) -> str:
    return base64.urlsafe_b64encode(f"o:{end}".encode("ascii")).decode("ascii") if end < total else ""


def _ids(values: Sequence[str], field: str) -> list[str]:
    if len(values) > MAX_IDS_PER_REQUEST:
        raise invalid_request(field, f"at most {MAX_IDS_PER_REQUEST} entries are allowed")
    return list(values)


class SubscriptionsServicer(subscriptions_pb2_grpc.SubscriptionsServicer):
    """Serves `voicesvc.v1.Subscriptions` from `backend`.

    `relay_credentials` secure the relay of members to the replica leading their subscription (NATS
    backend); without them the relay is plaintext, as the gRPC port is.
    """

    def __init__(
        self,
        backend: SubscriptionBackend,
        *,
        converter: EventConverter | None = None,
        min_heartbeat_s: float = MIN_HEARTBEAT_S,
        relay_credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        self._backend = backend
        self._relay_credentials = relay_credentials
        self._converter = converter or EventConverter()
        self._min_heartbeat_s = min_heartbeat_s
        self._streams: set[asyncio.Future[None]] = set()
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._closed = False

    @property
    def open_streams(self) -> int:
        """How many StreamingPull streams are open."""
        return len(self._streams)

    async def close(self, wait_s: float = 1.0) -> None:
        """End every stream with UNAVAILABLE (members reconnect elsewhere) and close the backend."""
        self._closed = True
        await self._backend.close()
        if self._streams:
            await asyncio.wait(list(self._streams), timeout=wait_s)
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close(0)

    async def _usable(self, context: grpc.aio.ServicerContext) -> SubscriptionBackend:
        if self._closed:
            await abort(context, server_shutdown_status())
        return self._backend

    # -- the resource ------------------------------------------------------------------------------

    async def CreateSubscription(
        self, request: subscriptions_pb2.CreateSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> subscriptions_pb2.Subscription:
        """Validate and store a new subscription."""
        backend = await self._usable(context)
        name = NAME_PREFIX + request.subscription_id
        try:
            config = _config_of(request)
            state = await backend.create(config)
        except Rejected as rejected:
            await abort(context, rejected.status)
        except InvalidField as exc:
            await abort(context, invalid_request(f"subscription.{exc.field}", exc.description).status)
        except AlreadyExists:
            await abort(context, subscription_exists_status(name))
        except (LogClosed, LogUnavailable) as exc:
            await abort(context, _unavailable(exc))
        return _to_proto(state)

    async def GetSubscription(
        self, request: subscriptions_pb2.GetSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> subscriptions_pb2.Subscription:
        """The subscription with its live figures."""
        backend = await self._usable(context)
        try:
            subscription_id = _subscription_id(request.name, "name")
            return _to_proto(await backend.get(subscription_id))
        except Rejected as rejected:
            await abort(context, rejected.status)
        except NotFound as exc:
            await abort(context, subscription_not_found_status(request.name, str(exc)))
        except (LogClosed, LogUnavailable) as exc:
            await abort(context, _unavailable(exc))

    async def ListSubscriptions(
        self, request: subscriptions_pb2.ListSubscriptionsRequest, context: grpc.aio.ServicerContext
    ) -> subscriptions_pb2.ListSubscriptionsResponse:
        """A page of subscriptions in name order."""
        backend = await self._usable(context)
        try:
            states = await backend.list_all()
            offset, end = _page(request.page_size, request.page_token, len(states))
        except Rejected as rejected:
            await abort(context, rejected.status)
        except (LogClosed, LogUnavailable) as exc:
            await abort(context, _unavailable(exc))
        return subscriptions_pb2.ListSubscriptionsResponse(
            subscriptions=[_to_proto(s) for s in states[offset:end]],
            next_page_token=_next_token(end, len(states)),
            total_size=len(states),
        )

    async def UpdateSubscription(
        self, request: subscriptions_pb2.UpdateSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> subscriptions_pb2.Subscription:
        """Change the delivery settings `update_mask` names."""
        backend = await self._usable(context)
        name = request.subscription.name
        try:
            subscription_id = _subscription_id(name, "subscription.name")
            deadline, attempts = _update_of(request)
            state = await backend.update(
                subscription_id, ack_deadline_s=deadline, max_delivery_attempts=attempts
            )
        except Rejected as rejected:
            await abort(context, rejected.status)
        except InvalidField as exc:
            await abort(context, invalid_request(f"subscription.{exc.field}", exc.description).status)
        except NotFound as exc:
            await abort(context, subscription_not_found_status(name, str(exc)))
        except (LogClosed, LogUnavailable) as exc:
            await abort(context, _unavailable(exc))
        return _to_proto(state)

    async def DeleteSubscription(
        self, request: subscriptions_pb2.DeleteSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        """Remove the subscription; its streams end with NOT_FOUND."""
        backend = await self._usable(context)
        try:
            await backend.delete(_subscription_id(request.name, "name"))
        except Rejected as rejected:
            await abort(context, rejected.status)
        except NotFound as exc:
            await abort(context, subscription_not_found_status(request.name, str(exc)))
        except (LogClosed, LogUnavailable) as exc:
            await abort(context, _unavailable(exc))
        return empty_pb2.Empty()

    # -- dead letters ------------------------------------------------------------------------------

    async def ListDeadLetters(
        self, request: subscriptions_pb2.ListDeadLettersRequest, context: grpc.aio.ServicerContext
    ) -> subscriptions_pb2.ListDeadLettersResponse:
        """A page of the dead letters, oldest first."""
        backend = await self._usable(context)
        try:
            letters = await backend.dead_letters(_subscription_id(request.subscription, "subscription"))
            offset, end = _page(request.page_size, request.page_token, len(letters))
        except Rejected as rejected:
            await abort(context, rejected.status)
        except NotFound as exc:
            await abort(context, subscription_not_found_status(request.subscription, str(exc)))
        except (LogClosed, LogUnavailable) as exc:
            await abort(context, _unavailable(exc))
        return subscriptions_pb2.ListDeadLettersResponse(
            dead_letters=[self._dead_letter(d) for d in letters[offset:end]],
            next_page_token=_next_token(end, len(letters)),
            total_size=len(letters),
        )

    def _dead_letter(self, letter: DeadLetter) -> subscriptions_pb2.DeadLetter:
        out = subscriptions_pb2.DeadLetter(delivery_attempts=letter.attempts)
        out.event.CopyFrom(self._converter.response(letter.event).event)
        out.last_attempt_time.CopyFrom(_timestamp(letter.last_attempt_time))
        out.dead_letter_time.CopyFrom(_timestamp(letter.dead_letter_time))
        return out

    async def RedriveDeadLetters(
        self, request: subscriptions_pb2.RedriveDeadLettersRequest, context: grpc.aio.ServicerContext
    ) -> subscriptions_pb2.RedriveDeadLettersResponse:
        """Put dead letters back in front of the subscription."""
        backend = await self._usable(context)
        try:
            subscription_id = _subscription_id(request.subscription, "subscription")
            event_ids = _ids(request.event_ids, "event_ids")
            if any(not i for i in event_ids):
                raise invalid_request("event_ids", "ids must not be empty")
            count = await backend.redrive(subscription_id, event_ids)
        except Rejected as rejected:
            await abort(context, rejected.status)
        except NotFound as exc:
            await abort(context, subscription_not_found_status(request.subscription, str(exc)))
        except (LogClosed, LogUnavailable) as exc:
            await abort(context, _unavailable(exc))
        return subscriptions_pb2.RedriveDeadLettersResponse(redriven_count=count)

    # -- the stream --------------------------------------------------------------------------------

    async def StreamingPull(
        self,
        request_iterator: AsyncIterator[subscriptions_pb2.StreamingPullRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[subscriptions_pb2.StreamingPullResponse]:
        """Join the group and exchange deliveries and acks; see the module docstring."""
        backend = await self._usable(context)
        requests = aiter(request_iterator)
        try:
            first = await anext(requests)
        except StopAsyncIteration:
            await abort(
                context, invalid_request("subscription", "the stream ended before its first request").status
            )
        ended = asyncio.get_running_loop().create_future()
        self._streams.add(ended)
        session: MemberSession | None = None
        reader: asyncio.Task[None] | None = None
        try:
            subscription_id = _subscription_id(first.subscription, "subscription")
            member_id = first.member_id or uuid.uuid4().hex
            try:
                validate_member_id(member_id)
            except InvalidField as exc:
                raise invalid_request(exc.field, exc.description) from None
            if first.max_outstanding_events < 0 or first.max_outstanding_events > MAX_OUTSTANDING:
                raise invalid_request(
                    "max_outstanding_events",
                    f"must be from 0 (the default, {DEFAULT_MAX_OUTSTANDING}) to {MAX_OUTSTANDING}",
                )
            heartbeat_s = DEFAULT_HEARTBEAT_S
            if first.HasField("heartbeat_interval"):
                heartbeat_s = max(
                    _seconds(first.heartbeat_interval, "heartbeat_interval"), self._min_heartbeat_s
                )
            try:
                session = await backend.join(
                    subscription_id, member_id, first.max_outstanding_events or DEFAULT_MAX_OUTSTANDING
                )
            except LeaderElsewhere as elsewhere:
                first.member_id = member_id
                async for response in self._relay(elsewhere.address, first, requests, context):
                    yield response
                return
            except NotFound as exc:
                raise Rejected(subscription_not_found_status(first.subscription, str(exc))) from None
            except (LogClosed, LogUnavailable) as exc:
                raise Rejected(_unavailable(exc)) from None
            _apply(session, first)
            reader = asyncio.get_running_loop().create_task(_read_requests(session, requests))
            yield subscriptions_pb2.StreamingPullResponse(member_id=member_id)
            async for response in self._deliver(session, reader, heartbeat_s, first.subscription):
                yield response
        except Rejected as rejected:
            await abort(context, rejected.status)
        finally:
            if reader is not None:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader
            if session is not None:
                await session.close()
            self._streams.discard(ended)
            ended.set_result(None)

    async def _relay(
        self,
        address: str,
        first: subscriptions_pb2.StreamingPullRequest,
        requests: AsyncIterator[subscriptions_pb2.StreamingPullRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[subscriptions_pb2.StreamingPullResponse]:
        """Serve the stream through the replica that leads the subscription (same requests, same answers,
        the caller's credentials passed on); it ends as the leader ends it."""
        channel = self._channels.get(address)
        if channel is None:
            channel = self._channels[address] = (
                grpc.aio.secure_channel(address, self._relay_credentials)
                if self._relay_credentials is not None
                else grpc.aio.insecure_channel(address)
            )
        stub = subscriptions_pb2_grpc.SubscriptionsStub(channel)
        metadata = [(k, v) for k, v in context.invocation_metadata() or () if k == "authorization"]

        call = stub.StreamingPull(_Forward(first, requests), metadata=metadata)
        try:
            async for response in call:
                yield response
        except grpc.aio.AioRpcError as err:
            raise Rejected(relayed_status(err)) from None
        finally:
            call.cancel()

    async def _deliver(
        self, session: MemberSession, reader: asyncio.Task[None], heartbeat_s: float, name: str
    ) -> AsyncIterator[subscriptions_pb2.StreamingPullResponse]:
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + heartbeat_s
        while True:
            wait_s = next_beat - loop.time()
            if wait_s <= 0:
                beat = subscriptions_pb2.StreamingPullHeartbeat(outstanding=session.outstanding)
                beat.sent_at.GetCurrentTime()
                yield subscriptions_pb2.StreamingPullResponse(heartbeat=beat)
                next_beat = loop.time() + heartbeat_s
                continue
            try:
                batch = await session.next(wait_s)
            except NotFound as exc:
                raise Rejected(subscription_not_found_status(name, str(exc))) from None
            except (LogClosed, LogUnavailable) as exc:
                raise Rejected(_unavailable(exc)) from None
            if reader.done():
                error = reader.exception()
                if isinstance(error, Rejected):
                    raise error
                return  # the member's requests ended (or the read failed): so does the stream
            if batch:
                response = subscriptions_pb2.StreamingPullResponse()
                for delivery in batch:
                    received = response.received_events.add(
                        ack_id=delivery.ack_id, delivery_attempt=min(delivery.attempt, 2**31 - 1)
                    )
                    received.event.CopyFrom(self._converter.response(delivery.event).event)
                yield response
                next_beat = loop.time() + heartbeat_s


class _Forward:
    """The member's requests as relayed to the leader: the first one, then the rest as they come (a plain
    iterator: gRPC may stop reading it mid-wait, which an async generator would report as an error)."""

    def __init__(
        self,
        first: subscriptions_pb2.StreamingPullRequest,
        requests: AsyncIterator[subscriptions_pb2.StreamingPullRequest],
    ) -> None:
        self._first: subscriptions_pb2.StreamingPullRequest | None = first
        self._requests = requests

    def __aiter__(self) -> _Forward:
        return self

    async def __anext__(self) -> subscriptions_pb2.StreamingPullRequest:
        first, self._first = self._first, None
        if first is not None:
            return first
        return await anext(self._requests)


async def _read_requests(
    session: MemberSession, requests: AsyncIterator[subscriptions_pb2.StreamingPullRequest]
) -> None:
    """Apply every further request of the member; the session ends when they end (or one is malformed)."""
    try:
        async for request in requests:
            _apply(session, request)
    finally:
        await session.close()


def _apply(session: MemberSession, request: subscriptions_pb2.StreamingPullRequest) -> None:
    """Apply the acks, nacks and deadline changes of one request (all checked before any is applied)."""
    acks = _ids(request.ack_ids, "ack_ids")
    nacks = _ids(request.nack_ids, "nack_ids")
    modified = _ids(request.modify_deadline_ack_ids, "modify_deadline_ack_ids")
    deadline = 0.0
    if modified:
        if not request.HasField("modify_deadline"):
            raise invalid_request("modify_deadline", "required with modify_deadline_ack_ids")
        deadline = _seconds(request.modify_deadline, "modify_deadline")
        if deadline > MAX_ACK_DEADLINE_S:
            raise invalid_request("modify_deadline", f"must be from 0 s to {MAX_ACK_DEADLINE_S:g} s")
    if acks:
        session.ack(acks)
    if nacks:
        session.nack(nacks)
    if modified:
        session.modify_deadline(modified, deadline)


def _unavailable(exc: BaseException) -> grpc.Status:
    """UNAVAILABLE: shutting down (members reconnect elsewhere), or a backend that cannot serve now."""
    return server_shutdown_status() if isinstance(exc, LogClosed) else event_log_unavailable_status(str(exc))


# -- proto ⇄ configuration ---------------------------------------------------------------------------------


def _config_of(request: subscriptions_pb2.CreateSubscriptionRequest) -> SubscriptionConfig:
    if not request.subscription_id:
        raise invalid_request("subscription_id", "required")
    try:
        validate_subscription_id(request.subscription_id)
    except InvalidField as exc:
        raise invalid_request(exc.field, exc.description) from None
    if not request.HasField("subscription"):
        raise invalid_request("subscription", "required (an empty subscription takes every default)")
    sub = request.subscription
    deadline = DEFAULT_ACK_DEADLINE_S
    if sub.HasField("ack_deadline"):
        deadline = _seconds(sub.ack_deadline, "subscription.ack_deadline")
    attempts = sub.max_delivery_attempts if sub.HasField("max_delivery_attempts") else DEFAULT_MAX_ATTEMPTS
    ordering: Ordering
    if sub.ordering in (_Ordering.ORDERING_UNSPECIFIED, _Ordering.ORDERING_PER_CALL):
        ordering = "per_call"
    elif sub.ordering == _Ordering.ORDERING_NONE:
        ordering = "none"
    else:
        raise invalid_request("subscription.ordering", f"unknown ordering {sub.ordering}")
    start: Start
    if sub.HasField("start_time"):
        stamp = sub.start_time
        if not 0 <= stamp.nanos < 10**9:
            raise invalid_request("subscription.start_time", "must be a valid timestamp")
        start = Start.at(stamp.seconds + stamp.nanos / 1e9)
    elif sub.start_position in (events_pb2.START_POSITION_UNSPECIFIED, events_pb2.START_POSITION_NOW):
        start = Start.now()
    elif sub.start_position == events_pb2.START_POSITION_OLDEST:
        start = Start.oldest()
    else:
        raise invalid_request("subscription.start_position", f"unknown start position {sub.start_position}")
    try:
        return SubscriptionConfig(
            subscription_id=request.subscription_id,
            event_types=tuple(sub.filter.event_types),
            call_control_ids=frozenset(sub.filter.call_control_ids),
            call_session_ids=frozenset(sub.filter.call_session_ids),
            connection_ids=frozenset(sub.filter.connection_ids),
            ack_deadline_s=deadline,
            max_delivery_attempts=attempts,
            ordering=ordering,
            start=start,
        )
    except InvalidField as exc:
        raise invalid_request(f"subscription.{exc.field}", exc.description) from None


def _update_of(request: subscriptions_pb2.UpdateSubscriptionRequest) -> tuple[float | None, int | None]:
    paths = list(request.update_mask.paths)
    if not paths:
        raise invalid_request("update_mask", f"name at least one of {', '.join(MUTABLE_FIELDS)}")
    deadline: float | None = None
    attempts: int | None = None
    sub = request.subscription
    for path in paths:
        if path == "ack_deadline":
            deadline = (
                _seconds(sub.ack_deadline, "subscription.ack_deadline")
                if sub.HasField("ack_deadline")
                else DEFAULT_ACK_DEADLINE_S
            )
        elif path == "max_delivery_attempts":
            attempts = (
                sub.max_delivery_attempts if sub.HasField("max_delivery_attempts") else DEFAULT_MAX_ATTEMPTS
            )
        elif path in IMMUTABLE_FIELDS:
            raise invalid_request("update_mask", f"{path} is fixed when the subscription is created")
        elif path in OUTPUT_FIELDS:
            raise invalid_request("update_mask", f"{path} is output only")
        else:
            raise invalid_request("update_mask", f"unknown field {path[:100]!r}")
    return deadline, attempts


_ORDERING_ENUM = {"per_call": _Ordering.ORDERING_PER_CALL, "none": _Ordering.ORDERING_NONE}


def _to_proto(state: SubscriptionState) -> subscriptions_pb2.Subscription:
    config, figures = state.config, state.figures
    out = subscriptions_pb2.Subscription(
        name=NAME_PREFIX + config.subscription_id,
        max_delivery_attempts=config.max_delivery_attempts,
        ordering=_ORDERING_ENUM[config.ordering],
        backlog=figures.backlog,
        outstanding=figures.outstanding,
        dead_lettered=figures.dead_lettered,
        acked=figures.acked,
        ignored_ack_ids=figures.ignored_ack_ids,
        members=figures.members,
    )
    out.filter.event_types.extend(config.event_types)
    out.filter.call_control_ids.extend(sorted(config.call_control_ids))
    out.filter.call_session_ids.extend(sorted(config.call_session_ids))
    out.filter.connection_ids.extend(sorted(config.connection_ids))
    out.ack_deadline.CopyFrom(_duration(config.ack_deadline_s))
    start = config.start
    if start.kind == "time":
        assert start.time is not None
        out.start_time.CopyFrom(_timestamp(start.time))
    else:
        out.start_position = (
            events_pb2.START_POSITION_OLDEST if start.kind == "oldest" else events_pb2.START_POSITION_NOW
        )
    out.create_time.CopyFrom(_timestamp(config.create_time))
    return out
