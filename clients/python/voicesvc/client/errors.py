"""Readable descriptions of failed RPCs, including the server's `google.rpc` rich error details."""

from __future__ import annotations

from typing import cast

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


def rich_status(error: aio.AioRpcError) -> status_pb2.Status | None:
    """The `google.rpc.Status` the server attached to a failed call, if any."""
    try:
        return cast(status_pb2.Status | None, rpc_status.from_call(error))
    except (ValueError, TypeError):
        return None


def error_details(error: aio.AioRpcError) -> list[Message]:
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


def describe_error(error: aio.AioRpcError) -> str:
    """`CODE: message`, followed by one indented line per rich detail (reason, field violations, retry)."""
    code = error.code()
    name = code.name if code is not None else "UNKNOWN"
    message = error.details()
    lines = [f"{name}: {message}" if message else name]
    for detail in error_details(error):
        lines += [f"  {line}" for line in _describe(detail)]
    return "\n".join(lines)
