"""The `Calls` servicer: calls read from this replica's projection, and commands that return their outcome.

`GetCall`, `ListCalls` and `WatchCalls` only read the local `CallStore` (no Telnyx request); they first wait,
within the caller's deadline, for the projection to have read the log it found at start-up. `ExecuteCommand`
is one generic path for every CallControl command with a `(voicesvc.v1.outcome)` option: the member set in
the request names the command, its route sends it like its own RPC, and an `OutcomeWait` opened before the
send finds the outcome event in the log.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from voicesvc.calls import CallFilterSpec, CallProjection
from voicesvc.calls.outcome import CallEnded, OutcomeSpec, OutcomeWait, outcome_spec
from voicesvc.events.log import EventLog, InvalidCursor, LogClosed, LogUnavailable, decode_cursor
from voicesvc.server.event_convert import EventConverter
from voicesvc.server.status import (
    Rejected,
    abort,
    call_ended_status,
    call_not_found_status,
    calls_catching_up_status,
    event_log_unavailable_status,
    invalid_request,
    outcome_deadline_status,
    watch_shutdown_status,
)
from voicesvc.server.translate import Translator
from voicesvc.transcode import descriptors
from voicesvc.transcode.routes import ROUTES, Route
from voicesvc.v1 import call_control_commands_pb2 as commands_pb2
from voicesvc.v1 import calls_pb2, calls_pb2_grpc, events_pb2

__all__ = ["CALLS_SERVICE", "COMMANDS", "CallsServicer", "Command"]

CALLS_SERVICE = calls_pb2.DESCRIPTOR.services_by_name["Calls"].full_name
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_NAME_PREFIX = "calls/"
_DEADLINE_MARGIN_S = 0.05
_NO_DEADLINE_WAIT_S = 30.0
"""How long a read waits for the projection to catch up when the caller set no deadline."""


@dataclass(frozen=True, slots=True)
class Command:
    """One member of `ExecuteCommandRequest.command`: the route that sends it and its outcome events."""

    member: str
    route: Route
    outcome: OutcomeSpec


def _commands() -> dict[str, Command]:
    """Every command member, matched to the route whose request type it holds (read off the descriptors)."""
    by_request = {route.request_cls.DESCRIPTOR.full_name: route for route in ROUTES}
    found: dict[str, Command] = {}
    oneof = commands_pb2.ExecuteCommandRequest.DESCRIPTOR.oneofs_by_name["command"]
    for member in oneof.fields:
        message = member.message_type
        assert message is not None
        route = by_request[message.full_name]
        spec = outcome_spec(route.method)
        if spec is None:
            raise ValueError(
                f"{route.full_method} is a member of ExecuteCommandRequest but declares no outcome"
            )
        found[member.name] = Command(member.name, route, spec)
    return found


COMMANDS: dict[str, Command] = _commands()


def _filter_spec(request_filter: calls_pb2.CallFilter, field: str = "filter") -> CallFilterSpec:
    states = frozenset(request_filter.states)
    known = set(calls_pb2.CallState.values())
    if not states <= known:
        raise invalid_request(f"{field}.states", f"unknown state {min(states - known)}")
    if request_filter.direction not in calls_pb2.CallDirection.values():
        raise invalid_request(f"{field}.direction", f"unknown direction {request_filter.direction}")
    return CallFilterSpec(
        states=states - {calls_pb2.CALL_STATE_UNSPECIFIED},
        connection_id=request_filter.connection_id,
        call_session_id=request_filter.call_session_id,
        direction=request_filter.direction,
    )


def _fingerprint(request_filter: calls_pb2.CallFilter) -> str:
    return hashlib.sha256(request_filter.SerializeToString(deterministic=True)).hexdigest()[:16]


def _page_token(after: str, fingerprint: str) -> str:
    raw = json.dumps({"after": after, "filter": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: str, fingerprint: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        after, made_for = data["after"], data["filter"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise invalid_request("page_token", "not a page token this service issued") from None
    if not isinstance(after, str) or made_for != fingerprint:
        raise invalid_request("page_token", "the token belongs to a list with another filter") from None
    return after


class CallsServicer(calls_pb2_grpc.CallsServicer):
    """Serves `voicesvc.v1.Calls` from `projection`; `translator` sends the commands of `ExecuteCommand`."""

    def __init__(
        self,
        projection: CallProjection,
        event_log: EventLog,
        translator: Translator,
        *,
        default_heartbeat_s: float = 15.0,
        min_heartbeat_s: float = 1.0,
        converter: EventConverter | None = None,
    ) -> None:
        self._projection = projection
        self._store = projection.store
        self._log = event_log
        self._translator = translator
        self._default_heartbeat_s = default_heartbeat_s
        self._min_heartbeat_s = min_heartbeat_s
        self._converter = converter or EventConverter(cache_size=64)
        self._closed = False

    async def close(self) -> None:
        """End every open watch with UNAVAILABLE (clients resume elsewhere with their cursor)."""
        self._closed = True
        self._store.feed.wake()

    # ------------------------------------------------------------------ reads

    async def _ready(self, context: grpc.aio.ServicerContext) -> None:
        remaining = context.time_remaining()
        timeout = _NO_DEADLINE_WAIT_S if remaining is None else max(remaining - _DEADLINE_MARGIN_S, 0.0)
        if not await self._projection.wait_ready(timeout):
            await abort(context, calls_catching_up_status(self._store.seq, self._projection.target_seq))

    async def GetCall(
        self, request: calls_pb2.GetCallRequest, context: grpc.aio.ServicerContext
    ) -> calls_pb2.Call:
        """The call named `calls/{call_control_id}`."""
        name = request.name
        if not name.startswith(_NAME_PREFIX) or len(name) == len(_NAME_PREFIX):
            await abort(context, invalid_request("name", "must be calls/{call_control_id}").status)
        await self._ready(context)
        call = self._store.get(name.removeprefix(_NAME_PREFIX))
        if call is None:
            await abort(context, call_not_found_status(name))
        return call

    async def ListCalls(
        self, request: calls_pb2.ListCallsRequest, context: grpc.aio.ServicerContext
    ) -> calls_pb2.ListCallsResponse:
        """One page of the matching calls, ordered by name."""
        try:
            spec = _filter_spec(request.filter)
            if request.page_size < 0:
                raise invalid_request("page_size", "must not be negative")
            size = min(request.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
            fingerprint = _fingerprint(request.filter)
            after = _read_token(request.page_token, fingerprint) if request.page_token else ""
        except Rejected as rejected:
            await abort(context, rejected.status)
        await self._ready(context)
        # No await from here on: the page is one consistent view of the store.
        total = (
            sum(1 for c in self._store.calls() if spec.matches(c)) if not spec.is_empty else len(self._store)
        )
        page: list[calls_pb2.Call] = []
        more = False
        for call in self._store.by_name(after):
            if not spec.matches(call):
                continue
            if len(page) == size:
                more = True
                break
            page.append(call)
        token = _page_token(page[-1].name, fingerprint) if more else ""
        return calls_pb2.ListCallsResponse(
            calls=page, next_page_token=token, total_size=total, cursor=self._cursor()
        )

    def _cursor(self) -> str:
        return self._store.cursor or self._log.cursor(0)

    async def WatchCalls(
        self, request: calls_pb2.WatchCallsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[calls_pb2.WatchCallsResponse]:
        """List-then-watch; see the proto."""
        try:
            spec = _filter_spec(request.filter)
            position = self._resume_position(request.after_cursor)
            heartbeat_s = self._heartbeat_s(request)
        except Rejected as rejected:
            await abort(context, rejected.status)
        await self._ready(context)
        loop = asyncio.get_running_loop()
        visible: set[str] = set()
        relist = position is None
        # The watch's position: every change up to `seq` (whose cursor is `cursor`) was considered.
        seq, cursor = (0, "") if position is None else (position, request.after_cursor)
        next_beat = loop.time() + heartbeat_s
        while True:
            if self._closed:
                await abort(context, watch_shutdown_status())
            batch: list[calls_pb2.WatchCallsResponse] = []
            if relist:
                relist, seq, cursor = False, self._store.seq, self._cursor()
                for call in self._store.calls():
                    if spec.matches(call):
                        visible.add(call.name)
                        batch.append(_change(calls_pb2.CALL_CHANGE_KIND_EXISTING, call, cursor, ""))
                # The list is complete: a heartbeat marks the end of the EXISTING changes.
                batch.append(_heartbeat(cursor))
            else:
                changes = self._store.feed.since(seq)
                if changes is None:
                    relist = True
                    continue
                if self._store.seq > seq:
                    seq, cursor = self._store.seq, self._cursor()
                for change in changes:
                    name = change.call.name
                    if spec.matches(change.call):
                        visible.add(name)
                    elif name in visible:
                        visible.discard(name)
                    else:
                        continue
                    batch.append(_change(change.kind, change.call, change.cursor, change.event_type))
            for response in batch:
                yield response
            if batch:
                next_beat = loop.time() + heartbeat_s
            quiet = next_beat - loop.time()
            if quiet <= 0:
                yield _heartbeat(cursor or self._cursor())
                next_beat = loop.time() + heartbeat_s
                continue
            if self._store.seq == seq and not self._closed:
                await self._store.feed.wait(quiet)

    def _resume_position(self, after_cursor: str) -> int | None:
        if not after_cursor:
            return None
        try:
            position = decode_cursor(after_cursor)
        except InvalidCursor as exc:
            raise invalid_request("after_cursor", f"{exc}: not a cursor issued by this service") from None
        if position.epoch != self._log.epoch:
            return None  # another incarnation of the log: start over with the list
        return position.seq

    def _heartbeat_s(self, request: calls_pb2.WatchCallsRequest) -> float:
        if not request.HasField("heartbeat_interval"):
            return self._default_heartbeat_s
        interval = request.heartbeat_interval
        seconds = interval.seconds + interval.nanos / 1e9
        if seconds < 0 or not 0 <= interval.nanos < 10**9:
            raise invalid_request("heartbeat_interval", "must be a valid, non-negative duration")
        return max(seconds, self._min_heartbeat_s)

    # ------------------------------------------------------------------ commands

    async def ExecuteCommand(
        self, request: commands_pb2.ExecuteCommandRequest, context: grpc.aio.ServicerContext
    ) -> commands_pb2.ExecuteCommandResponse:
        """Send the command and return it with its outcome event; see the proto."""
        member = request.WhichOneof("command")
        if member is None:
            await abort(context, invalid_request("command", "set exactly one command").status)
        command = COMMANDS[member]
        message: Message = getattr(request, member)
        try:
            wait = await OutcomeWait.open(self._log, command.outcome)
        except (LogUnavailable, LogClosed) as exc:
            await abort(context, event_log_unavailable_status(str(exc)))
        async with wait:
            response = await self._translator.call(command.route, message, context)
            call_control_id = _call_control_id(message) or _call_control_id(response)
            known = self._store.get(call_control_id)
            remaining = context.time_remaining()
            timeout = None if remaining is None else max(remaining - _DEADLINE_MARGIN_S, 0.0)
            try:
                outcome = await asyncio.wait_for(
                    wait.result(call_control_id, known.call_leg_id if known is not None else ""), timeout
                )
            except TimeoutError:
                await abort(context, outcome_deadline_status(call_control_id, command.route.rpc))
            except CallEnded as ended:
                hangup = {
                    key: str(ended.payload.get(key) or "")
                    for key in ("hangup_cause", "hangup_source", "sip_hangup_cause")
                }
                hangup["event_cursor"] = ended.event.cursor
                await abort(context, call_ended_status(call_control_id, hangup))
            except (LogUnavailable, LogClosed, EOFError) as exc:
                await abort(context, event_log_unavailable_status(str(exc)))
        # Read-your-writes: once the outcome is returned, GetCall on this replica already reflects it.
        remaining = context.time_remaining()
        await self._projection.wait_applied(
            outcome.event.seq, 1.0 if remaining is None else max(remaining - _DEADLINE_MARGIN_S, 0.0)
        )
        result = commands_pb2.ExecuteCommandResponse(succeeded=outcome.succeeded)
        getattr(result, member).CopyFrom(response)
        result.outcome.CopyFrom(self._converter.response(outcome.event).event)
        return result


def _call_control_id(message: Message) -> str:
    field = descriptors.descriptor_of(message).fields_by_name.get("call_control_id")
    return "" if field is None else str(getattr(message, field.name))


def _change(kind: int, call: calls_pb2.Call, cursor: str, event_type: str) -> calls_pb2.WatchCallsResponse:
    response = calls_pb2.WatchCallsResponse()
    change = response.change
    change.kind = kind  # type: ignore[assignment]
    change.call.CopyFrom(call)
    change.cursor = cursor
    change.event_type = event_type
    return response


def _heartbeat(cursor: str) -> calls_pb2.WatchCallsResponse:
    sent_at = timestamp_pb2.Timestamp()
    sent_at.GetCurrentTime()
    return calls_pb2.WatchCallsResponse(heartbeat=events_pb2.Heartbeat(cursor=cursor, sent_at=sent_at))
