"""Every gRPC status this service reports, built in one place.

One table maps Telnyx's HTTP statuses to gRPC codes, one function builds each kind of status, and one packing
function puts the `google.rpc` rich details (ErrorInfo, BadRequest, RetryInfo) into the
`grpc-status-details-bin` trailer within a size budget, after scrubbing every text of the message and the
details of the process's secrets (`voicesvc.redact.SECRETS`, in any encoding). `abort` ends an RPC with
such a status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NoReturn

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from voicesvc.redact import SECRETS
from voicesvc.rest.exceptions import (
    RestError,
    TelnyxAPIError,
    UpstreamDeadlineExceeded,
    UpstreamProtocolError,
    UpstreamUnavailable,
    clip,
)
from voicesvc.transcode.pointer import field_path

TELNYX_ERROR_DOMAIN = "api.telnyx.com"
"""``ErrorInfo.domain`` of the details describing a Telnyx (REST) failure."""
EVENTS_ERROR_DOMAIN = "voicesvc.events"
"""``ErrorInfo.domain`` of the details the event stream attaches."""
CALLS_ERROR_DOMAIN = "voicesvc.calls"
"""``ErrorInfo.domain`` of the details the Calls service attaches."""
REQUEST_ERROR_DOMAIN = "voicesvc.request"
"""``ErrorInfo.domain`` of the details describing a request the server could not read."""

CALL_STATE_ERROR_CODES: frozenset[str] = frozenset(
    {
        "90018",  # Call has already ended
        "90034",  # Call is not in a state to accept this command
    }
)
"""Telnyx codes meaning the call's current state, not the request, is at fault (FAILED_PRECONDITION)."""

SERVER_SHUTDOWN_MESSAGE = "voicesvc is shutting down; reconnect to continue"
WATCH_SHUTDOWN_MESSAGE = "server shutting down, resume from your last cursor"

# The grpc-status-details-bin trailer travels base64-encoded with the other metadata, which a gRPC client
# refuses beyond 8 KiB (soft) or 16 KiB (hard): however much Telnyx says, the details stay well below that.
_MAX_ERRORS_IN_DETAILS = 25
_MAX_DETAIL_TEXT = 500
_DETAILS_BUDGET_BYTES = 4096
_MAX_MESSAGE = 1000
_MAX_DURATION_S = 315_576_000_000  # the largest google.protobuf.Duration

_EXACT_HTTP_CODES: dict[int, grpc.StatusCode] = {
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ABORTED,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
}


async def abort(context: grpc.aio.ServicerContext, status: grpc.Status) -> NoReturn:
    """End the RPC with `status`. Goes through `context.abort_with_status`, so a wrapping context (the
    server interceptor's) sees the abort too."""
    await context.abort_with_status(status)
    raise AssertionError("abort_with_status returned")  # grpc.aio always raises there


# -- Telnyx REST failures ----------------------------------------------------------------------------------
def status_for_http(status: int, errors: list[dict[str, Any]]) -> grpc.StatusCode:
    """The gRPC code for a Telnyx HTTP status and its error objects."""
    if status in (400, 422):
        codes = {str(e.get("code")) for e in errors if e.get("code") not in (None, "")}
        if codes & CALL_STATE_ERROR_CODES:
            return grpc.StatusCode.FAILED_PRECONDITION
        return grpc.StatusCode.INVALID_ARGUMENT
    if status in _EXACT_HTTP_CODES:
        return _EXACT_HTTP_CODES[status]
    if 400 <= status < 500:
        return grpc.StatusCode.FAILED_PRECONDITION
    if 500 <= status < 600:
        return grpc.StatusCode.UNAVAILABLE
    return grpc.StatusCode.UNKNOWN


def rest_error_status(exc: RestError, field_name: Callable[[str], str] = field_path) -> grpc.Status:
    """The status (code, message, rich details) reported to the caller for a REST failure.

    `field_name` turns a Telnyx `source.pointer` into the field a `BadRequest` violation names; the server
    passes one that knows the request message, so the caller sees its own field names.
    """
    if isinstance(exc, TelnyxAPIError):
        return _api_error_status(exc, field_name)
    if isinstance(exc, UpstreamUnavailable):
        info = _telnyx_info("UPSTREAM_UNAVAILABLE", {"cause": exc.reason})
        return _pack(grpc.StatusCode.UNAVAILABLE, str(exc), [info])
    if isinstance(exc, UpstreamDeadlineExceeded):
        info = _telnyx_info("UPSTREAM_DEADLINE_EXCEEDED", {"cause": exc.reason})
        return _pack(grpc.StatusCode.DEADLINE_EXCEEDED, str(exc), [info])
    if isinstance(exc, UpstreamProtocolError):
        info = _telnyx_info("UPSTREAM_PROTOCOL_ERROR", {"cause": exc.reason, "http_status": str(exc.status)})
        return _pack(grpc.StatusCode.UNKNOWN, str(exc), [info])
    return _pack(grpc.StatusCode.UNKNOWN, str(exc) or type(exc).__name__, [])


def _api_error_status(exc: TelnyxAPIError, field_name: Callable[[str], str]) -> grpc.Status:
    errors = exc.errors[:_MAX_ERRORS_IN_DETAILS]
    details: list[Message] = []
    violations: list[error_details_pb2.BadRequest.FieldViolation] = []
    for error in errors:
        raw_source = error.get("source")
        source = raw_source if isinstance(raw_source, dict) else {}
        pointer = _text(source.get("pointer"))
        parameter = _text(source.get("parameter"))
        title = _text(error.get("title"))
        detail = _text(error.get("detail"))
        metadata = {"http_status": str(exc.status)}
        optional = {"title": title, "detail": detail, "pointer": pointer, "parameter": parameter}
        for key, value in optional.items():
            if value:
                metadata[key] = clip(value, _MAX_DETAIL_TEXT)
        code = clip(_text(error.get("code")), _MAX_DETAIL_TEXT)
        details.append(_telnyx_info(code or f"HTTP_{exc.status}", metadata))
        field = field_name(pointer) if pointer else ""
        if field:
            violations.append(
                error_details_pb2.BadRequest.FieldViolation(
                    field=clip(field, _MAX_DETAIL_TEXT), description=clip(detail or title, _MAX_DETAIL_TEXT)
                )
            )
    if violations:
        # Right after the first error: when the size budget cuts, the fields named go before further errors.
        details.insert(1, error_details_pb2.BadRequest(field_violations=violations))
    if exc.retry_after is not None:
        seconds = min(exc.retry_after, _MAX_DURATION_S)
        whole = int(seconds)
        delay = duration_pb2.Duration(seconds=whole, nanos=min(round((seconds - whole) * 1e9), 999_999_999))
        details.insert(1, error_details_pb2.RetryInfo(retry_delay=delay))
    return _pack(status_for_http(exc.status, exc.errors), str(exc), details)


def _telnyx_info(reason: str, metadata: dict[str, str]) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=reason, domain=TELNYX_ERROR_DOMAIN, metadata=metadata)


def _text(value: object) -> str:
    return "" if value is None else str(value)


# -- requests refused before any REST call -----------------------------------------------------------------
def invalid_argument_status(violations: list[tuple[str, str]], message: str) -> grpc.Status:
    """INVALID_ARGUMENT for a request rejected locally, one field violation per `(field, description)`."""
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=field, description=description)
            for field, description in violations
        ]
    )
    return _pack(grpc.StatusCode.INVALID_ARGUMENT, message, [bad_request])


def undecodable_request_status(message_type: str, reason: str) -> grpc.Status:
    """INVALID_ARGUMENT for bytes that are not the method's request message (reason UNDECODABLE_REQUEST)."""
    info = error_details_pb2.ErrorInfo(
        reason="UNDECODABLE_REQUEST", domain=REQUEST_ERROR_DOMAIN, metadata={"message_type": message_type}
    )
    return _pack(grpc.StatusCode.INVALID_ARGUMENT, f"request is not a valid {message_type}: {reason}", [info])


def unauthenticated_status(problem: str) -> grpc.Status:
    """UNAUTHENTICATED saying what is wrong with the caller's credentials."""
    return _pack(grpc.StatusCode.UNAUTHENTICATED, problem, [])


def server_shutdown_status() -> grpc.Status:
    """UNAVAILABLE for a stream the server ends at shutdown; clients reconnect elsewhere."""
    return _pack(grpc.StatusCode.UNAVAILABLE, SERVER_SHUTDOWN_MESSAGE, [])


# -- the event stream ---------------------------------------------------------------------------------------
def cursor_expired_status(oldest_cursor: str) -> grpc.Status:
    """OUT_OF_RANGE naming the oldest cursor still available, also as `ErrorInfo.metadata.oldest_cursor`."""
    info = _events_info("CURSOR_EXPIRED", {"oldest_cursor": oldest_cursor})
    message = (
        "the requested position is older than the event log's retention; the oldest available cursor is "
        f"{oldest_cursor} (resume with after_cursor={oldest_cursor} to replay what is retained)"
    )
    return _pack(grpc.StatusCode.OUT_OF_RANGE, message, [info])


def watch_shutdown_status() -> grpc.Status:
    """UNAVAILABLE ending an event stream at shutdown (reason SHUTTING_DOWN); clients resume elsewhere."""
    return _pack(grpc.StatusCode.UNAVAILABLE, WATCH_SHUTDOWN_MESSAGE, [_events_info("SHUTTING_DOWN")])


def event_log_unavailable_status(cause: str) -> grpc.Status:
    """UNAVAILABLE ending an event stream whose log failed (reason EVENT_LOG_UNAVAILABLE)."""
    message = f"the event log is unavailable ({cause}); resume from your last cursor"
    return _pack(grpc.StatusCode.UNAVAILABLE, message, [_events_info("EVENT_LOG_UNAVAILABLE")])


def _events_info(reason: str, metadata: dict[str, str] | None = None) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=reason, domain=EVENTS_ERROR_DOMAIN, metadata=metadata or {})


# -- the Calls service ---------------------------------------------------------------------------------------
def call_not_found_status(name: str) -> grpc.Status:
    """NOT_FOUND for a call this replica holds no events of."""
    message = f"{name} not found: no events of that call (never seen, or ended longer ago than retained)"
    return _pack(grpc.StatusCode.NOT_FOUND, message, [_calls_info("CALL_NOT_FOUND", {"name": name})])


def calls_catching_up_status(applied_seq: int, target_seq: int) -> grpc.Status:
    """UNAVAILABLE while the replica is still reading the event log it found at start (try again)."""
    message = (
        f"this replica is still reading the event log (event {applied_seq} of {target_seq}); "
        "retry, or call another replica"
    )
    info = _calls_info("CALLS_CATCHING_UP", {"applied": str(applied_seq), "target": str(target_seq)})
    return _pack(grpc.StatusCode.UNAVAILABLE, message, [info])


def call_ended_status(call_control_id: str, hangup: dict[str, str]) -> grpc.Status:
    """FAILED_PRECONDITION: the leg hung up before the command's outcome; the hangup in the details."""
    cause = hangup.get("hangup_cause") or "unknown cause"
    message = f"the call ended ({cause}) before the command's outcome was reported"
    metadata = {"call_control_id": call_control_id, **{k: v for k, v in hangup.items() if v}}
    return _pack(grpc.StatusCode.FAILED_PRECONDITION, message, [_calls_info("CALL_ENDED", metadata)])


def outcome_deadline_status(call_control_id: str, rpc: str) -> grpc.Status:
    """DEADLINE_EXCEEDED after the command was sent but before its outcome was reported."""
    message = f"{rpc} was sent, but its outcome was not reported within the deadline"
    info = _calls_info("OUTCOME_NOT_REPORTED", {"call_control_id": call_control_id, "rpc": rpc})
    return _pack(grpc.StatusCode.DEADLINE_EXCEEDED, message, [info])


def _calls_info(reason: str, metadata: dict[str, str]) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=reason, domain=CALLS_ERROR_DOMAIN, metadata=metadata)


# -- subscriptions -------------------------------------------------------------------------------------------
SUBSCRIPTION_RESOURCE = "voicesvc.v1/Subscription"


def subscription_not_found_status(name: str, message: str) -> grpc.Status:
    """NOT_FOUND for an unknown or deleted subscription (or dead letter), with a `ResourceInfo`."""
    info = error_details_pb2.ResourceInfo(resource_type=SUBSCRIPTION_RESOURCE, resource_name=name)
    return _pack(grpc.StatusCode.NOT_FOUND, message, [info])


def subscription_exists_status(name: str) -> grpc.Status:
    """ALREADY_EXISTS for creating a subscription whose id is taken, with a `ResourceInfo`."""
    info = error_details_pb2.ResourceInfo(resource_type=SUBSCRIPTION_RESOURCE, resource_name=name)
    return _pack(grpc.StatusCode.ALREADY_EXISTS, f"{name} already exists", [info])


def relayed_status(error: grpc.aio.AioRpcError) -> grpc.Status:
    """The status another replica ended a relayed call with, passed on unchanged (rich details included)."""
    proto = rpc_status.from_call(error)
    if proto is None:
        proto = status_pb2.Status(
            code=error.code().value[0], message=clip(error.details() or "", _MAX_MESSAGE)
        )
    return rpc_status.to_status(proto)


# -- refusing a request --------------------------------------------------------------------------------------
class Rejected(Exception):
    """A request a servicer cannot serve: carries the status to end the RPC with (see `abort`)."""

    def __init__(self, status: grpc.Status) -> None:
        super().__init__(status.details)
        self.status = status


def invalid_request(field: str, description: str) -> Rejected:
    """`Rejected` with INVALID_ARGUMENT naming `field` (a `BadRequest` field violation)."""
    message = f"invalid request: {field}: {description}"
    return Rejected(invalid_argument_status([(field, description)], message))


# -- packing ------------------------------------------------------------------------------------------------
def _pack(code: grpc.StatusCode, message: str, details: Iterable[Message]) -> grpc.Status:
    """The status with as many of `details`, in order, as fit the size budget (field violations are dropped
    from the end of a BadRequest that alone would not fit)."""
    packed = []
    room = _DETAILS_BUDGET_BYTES
    for original in details:
        detail = _scrubbed(original)
        container = any_pb2.Any()
        container.Pack(detail)
        if container.ByteSize() > room and isinstance(detail, error_details_pb2.BadRequest):
            trimmed = error_details_pb2.BadRequest()
            trimmed.CopyFrom(detail)
            while trimmed.field_violations and container.ByteSize() > room:
                del trimmed.field_violations[-1]
                container.Pack(trimmed)
            if not trimmed.field_violations:
                continue
        if container.ByteSize() > room:
            continue
        room -= container.ByteSize()
        packed.append(container)
    text = clip(SECRETS.scrub(message), _MAX_MESSAGE)
    proto = status_pb2.Status(code=code.value[0], message=text, details=packed)
    return rpc_status.to_status(proto)


def _scrubbed(detail: Message) -> Message:
    """A copy of `detail` with every string in it (map keys and values, lists, nested messages) scrubbed."""
    copy = type(detail)()
    copy.CopyFrom(detail)
    _scrub_strings(copy)
    return copy


def _scrub_strings(message: Message) -> None:
    for f, value in message.ListFields():
        if f.type == FieldDescriptor.TYPE_STRING:
            if f.is_repeated:
                value[:] = [SECRETS.scrub(item) for item in value]
            else:
                setattr(message, f.name, SECRETS.scrub(value))
        elif f.type == FieldDescriptor.TYPE_MESSAGE and f.message_type is not None:
            if f.message_type.GetOptions().map_entry:
                value_field = f.message_type.fields_by_name["value"]
                if value_field.type == FieldDescriptor.TYPE_STRING:
                    entries = {SECRETS.scrub(str(k)): SECRETS.scrub(v) for k, v in value.items()}
                    value.clear()
                    value.update(entries)
                elif value_field.type == FieldDescriptor.TYPE_MESSAGE:
                    for item in value.values():
                        _scrub_strings(item)
            elif f.is_repeated:
                for item in value:
                    _scrub_strings(item)
            else:
                _scrub_strings(value)
