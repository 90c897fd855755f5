"""Readable descriptions of failed RPCs, including the server's `google.rpc` rich error details."""

from __future__ import annotations

from typing import Any, cast

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc import aio
from grpc_status import rpc_status

_DETAIL_TYPES: tuple[type[Message], ...] = (
    error_details_pb2.ErrorInfo,
    error_details_pb2.BadRequest,
    error_details_pb2.RetryInfo,
    error_details_pb2.PreconditionFailure,
    error_details_pb2.QuotaFailure,
    error_details_pb2.ResourceInfo,
    error_details_pb2.RequestInfo,
    error_details_pb2.Help,
    error_details_pb2.LocalizedMessage,
    error_details_pb2.DebugInfo,
)


def rich_status(error: grpc.RpcError) -> status_pb2.Status | None:
    """The `google.rpc.Status` the server attached to a failed call, if any."""
    try:
        return cast(status_pb2.Status | None, rpc_status.from_call(error))
    except (ValueError, TypeError):
        return None


def error_details(error: grpc.RpcError) -> list[Message]:
    """The rich error details of a failed call, unpacked into their message types (unknown ones skipped)."""
    status = rich_status(error)
    if status is None:
        return []
    return [msg for any_msg in status.details if (msg := _unpack(any_msg)) is not None]


def _unpack(any_msg: any_pb2.Any) -> Message | None:
    for cls in _DETAIL_TYPES:
        # The stubs type DESCRIPTOR as a union with upb's C descriptor class; at runtime it is a Descriptor.
        if any_msg.Is(cast(Descriptor, cls.DESCRIPTOR)):
            msg = cls()
            any_msg.Unpack(msg)
            return msg
    return None


def _seconds(duration: duration_pb2.Duration) -> str:
    value = duration.seconds + duration.nanos / 1e9
    return f"{value:g}s"


def _describe(detail: Message) -> list[str]:
    if isinstance(detail, error_details_pb2.ErrorInfo):
        where = f" ({detail.domain})" if detail.domain else ""
        lines = [f"reason: {detail.reason or '-'}{where}"]
        lines += [f"  {key}: {detail.metadata[key]}" for key in sorted(detail.metadata)]
        return lines
    if isinstance(detail, error_details_pb2.BadRequest):
        return [f"field {v.field or '/'}: {v.description}" for v in detail.field_violations]
    if isinstance(detail, error_details_pb2.RetryInfo):
        return [f"retry after {_seconds(detail.retry_delay)}"]
    if isinstance(detail, error_details_pb2.PreconditionFailure):
        return [
            f"precondition {v.type} {v.subject}: {v.description}".replace("  ", " ")
            for v in detail.violations
        ]
    if isinstance(detail, error_details_pb2.QuotaFailure):
        return [f"quota {v.subject}: {v.description}" for v in detail.violations]
    if isinstance(detail, error_details_pb2.ResourceInfo):
        return [f"resource {detail.resource_type} {detail.resource_name}: {detail.description}".rstrip(": ")]
    if isinstance(detail, error_details_pb2.RequestInfo):
        return [f"request id: {detail.request_id}"]
    if isinstance(detail, error_details_pb2.Help):
        return [
            f"see {link.url} ({link.description})" if link.description else f"see {link.url}"
            for link in detail.links
        ]
    if isinstance(detail, error_details_pb2.LocalizedMessage):
        return [detail.message]
    if isinstance(detail, error_details_pb2.DebugInfo):
        return [detail.detail] if detail.detail else []
    return []


def describe_error(error: grpc.RpcError) -> str:
    """`CODE: message`, followed by one indented line per rich detail (reason, field violations, retry)."""
    code = error.code()
    name = code.name if code is not None else "UNKNOWN"
    message = error.details()
    lines = [f"{name}: {message}" if message else name]
    for detail in error_details(error):
        lines += [f"  {line}" for line in _describe(detail)]
    return "\n".join(lines)


# -- typed errors ----------------------------------------------------------------------------------
TELNYX_ERROR_DOMAIN = "api.telnyx.com"
"""The `ErrorInfo.domain` of errors Telnyx reported (their `reason` is the Telnyx error code)."""
REQUEST_ID_KEY = "x-request-id"
"""The metadata key under which voicesvc names the request id of every RPC (initial metadata)."""


def _metadata_value(metadata: Any, key: str) -> str:
    for item_key, value in metadata or ():
        if item_key == key:
            return value.decode() if isinstance(value, bytes) else str(value)
    return ""


class VoiceError(aio.AioRpcError):  # type: ignore[misc]  # grpc is untyped
    """A failed RPC, as one subclass per status code (`NotFound`, `InvalidArgument`, …).

    It still is the `grpc.aio.AioRpcError` it was made from (`code()`, `details()`, metadata), so code that
    catches `AioRpcError` keeps working; that original error is also its `__cause__`. `request_id` is the
    id voicesvc logged the RPC under; `details` are the rich `google.rpc` details, unpacked.
    """

    grpc_code: grpc.StatusCode = grpc.StatusCode.UNKNOWN
    """The status code the class stands for."""

    def __init__(self, error: grpc.RpcError) -> None:
        code = error.code() if callable(getattr(error, "code", None)) else None
        initial = error.initial_metadata() if callable(getattr(error, "initial_metadata", None)) else None
        trailing = error.trailing_metadata() if callable(getattr(error, "trailing_metadata", None)) else None
        message = error.details() if callable(getattr(error, "details", None)) else str(error)
        debug = error.debug_error_string() if isinstance(error, aio.AioRpcError) else None
        super().__init__(
            code if code is not None else grpc.StatusCode.UNKNOWN,
            _as_metadata(initial),
            _as_metadata(trailing),
            message,
            debug,
        )
        self.message: str = message or ""
        """The status message."""
        self.request_id: str = _metadata_value(initial, REQUEST_ID_KEY) or _metadata_value(
            trailing, REQUEST_ID_KEY
        )
        """voicesvc's id of the RPC (its `x-request-id`), "" when the call never reached voicesvc."""
        self.details_list: list[Message] = error_details(self)
        """The rich error details, unpacked into their message types."""
        info = next((d for d in self.details_list if isinstance(d, error_details_pb2.ErrorInfo)), None)
        self.reason: str = info.reason if info is not None else ""
        """`ErrorInfo.reason` (`CALL_ENDED`, `EVENT_LOG_UNAVAILABLE`, …), or ""."""
        self.metadata: dict[str, str] = dict(info.metadata) if info is not None else {}
        """`ErrorInfo.metadata` (the Telnyx code under `telnyx_code`, a hangup cause …)."""

    @property
    def status_code(self) -> grpc.StatusCode:
        """The status code of the failed RPC."""
        return cast(grpc.StatusCode, self.code())

    @property
    def field_violations(self) -> list[error_details_pb2.BadRequest.FieldViolation]:
        """Every `BadRequest` field violation (`.field`: a field path or JSON pointer; `.description`)."""
        return [
            v
            for d in self.details_list
            if isinstance(d, error_details_pb2.BadRequest)
            for v in d.field_violations
        ]

    @property
    def retry_delay(self) -> float | None:
        """Seconds the server asks to wait before retrying (`RetryInfo`), or None."""
        for d in self.details_list:
            if isinstance(d, error_details_pb2.RetryInfo):
                return d.retry_delay.seconds + d.retry_delay.nanos / 1e9
        return None

    @property
    def telnyx_code(self) -> str:
        """The Telnyx error code (the reason of an `ErrorInfo` of Telnyx's domain), or ""."""
        for d in self.details_list:
            if isinstance(d, error_details_pb2.ErrorInfo) and d.domain == TELNYX_ERROR_DOMAIN:
                return d.reason
        return ""

    def __str__(self) -> str:
        text = describe_error(self)
        return f"{text}\n  request id: {self.request_id}" if self.request_id else text

    def __reduce__(self) -> Any:  # AioRpcError's own pickling needs its constructor's arguments
        return (Exception.__new__, (type(self),), self.__dict__)


def _as_metadata(metadata: Any) -> aio.Metadata:
    if isinstance(metadata, aio.Metadata):
        return metadata
    out = aio.Metadata()
    for key, value in metadata or ():
        out.add(key, value)
    return out


class Cancelled(VoiceError):
    """CANCELLED: the call was cancelled, usually by the caller."""

    grpc_code = grpc.StatusCode.CANCELLED


class Unknown(VoiceError):
    """UNKNOWN: an error the server did not classify."""

    grpc_code = grpc.StatusCode.UNKNOWN


class InvalidArgument(VoiceError):
    """INVALID_ARGUMENT: the request is wrong; `field_violations` name the fields."""

    grpc_code = grpc.StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(VoiceError):
    """DEADLINE_EXCEEDED: the deadline passed (for a command with `wait`, the command was sent)."""

    grpc_code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFound(VoiceError):
    """NOT_FOUND: the call, application or subscription does not exist."""

    grpc_code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(VoiceError):
    """ALREADY_EXISTS: a resource with that id exists."""

    grpc_code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(VoiceError):
    """PERMISSION_DENIED: the credentials may not do this."""

    grpc_code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(VoiceError):
    """RESOURCE_EXHAUSTED: rate limited or over a limit; `retry_delay` says how long to wait."""

    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(VoiceError):
    """FAILED_PRECONDITION: the call's state forbids it; `telnyx_code`, `reason` and `metadata` say why."""

    grpc_code = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(VoiceError):
    """ABORTED: a conflict (Telnyx 409)."""

    grpc_code = grpc.StatusCode.ABORTED


class OutOfRange(VoiceError):
    """OUT_OF_RANGE: a cursor older than the retention, or a page past the end."""

    grpc_code = grpc.StatusCode.OUT_OF_RANGE


class Unimplemented(VoiceError):
    """UNIMPLEMENTED: the server does not serve the RPC."""

    grpc_code = grpc.StatusCode.UNIMPLEMENTED


class Internal(VoiceError):
    """INTERNAL: a server fault."""

    grpc_code = grpc.StatusCode.INTERNAL


class Unavailable(VoiceError):
    """UNAVAILABLE: voicesvc, its event log or Telnyx cannot be reached now; retry later."""

    grpc_code = grpc.StatusCode.UNAVAILABLE


class DataLoss(VoiceError):
    """DATA_LOSS: unrecoverable data loss."""

    grpc_code = grpc.StatusCode.DATA_LOSS


class Unauthenticated(VoiceError):
    """UNAUTHENTICATED: no or a wrong bearer token (or Telnyx refused the API key)."""

    grpc_code = grpc.StatusCode.UNAUTHENTICATED


ERROR_CLASSES: dict[grpc.StatusCode, type[VoiceError]] = {
    cls.grpc_code: cls
    for cls in (
        Cancelled, Unknown, InvalidArgument, DeadlineExceeded, NotFound, AlreadyExists, PermissionDenied,
        ResourceExhausted, FailedPrecondition, Aborted, OutOfRange, Unimplemented, Internal, Unavailable,
        DataLoss, Unauthenticated,
    )
}  # fmt: skip
"""The `VoiceError` subclass of each status code."""


def from_grpc_error(error: grpc.RpcError) -> VoiceError:
    """The typed error for a failed call (`grpc.aio.AioRpcError` or a sync `grpc.RpcError` call)."""
    if isinstance(error, VoiceError):
        return error
    code = error.code() if callable(getattr(error, "code", None)) else None
    cls = ERROR_CLASSES.get(code, Unknown) if code is not None else Unknown
    return cls(error)
