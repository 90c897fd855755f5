"""The one generic unary handler: any contract RPC → its Telnyx REST call → the RPC response.

Nothing here knows a particular RPC: the `Route` (read from the proto's `google.api.http` rule) says which
verb and path to use, the descriptors say which fields are required and how they look on the wire.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Awaitable, Callable

import grpc
from google.protobuf.message import Message

from voicesvc.rest import (
    RestError,
    TelnyxAPIError,
    TelnyxClient,
    UpstreamProtocolError,
)
from voicesvc.rest.request import RestRequest
from voicesvc.server.context import current_rpc
from voicesvc.server.status import abort, invalid_argument_status, rest_error_status
from voicesvc.transcode import descriptors
from voicesvc.transcode.http import UnexpectedResponse, decode_response, encode_request
from voicesvc.transcode.pointer import field_path, proto_field_path
from voicesvc.transcode.routes import Route
from voicesvc.transcode.validate import missing_required
from voicesvc.transcode.wire import WireError

UnaryBehavior = Callable[[Message, grpc.aio.ServicerContext], Awaitable[Message]]

# Time kept back from the caller's deadline so that a timed-out REST call is still reported by this service
# (DEADLINE_EXCEEDED with details) before gRPC itself gives up on the call.
_DEADLINE_MARGIN_S = 0.05


class Translator:
    """Turns RPCs into Telnyx REST calls through one shared `TelnyxClient`."""

    def __init__(self, client: TelnyxClient) -> None:
        self._client = client

    def behavior(self, route: Route) -> UnaryBehavior:
        """The gRPC unary behaviour serving `route`: `call` with the route bound (a partial, so a call runs
        one coroutine, not a wrapper awaiting another)."""
        return functools.partial(self.call, route)

    async def call(self, route: Route, request: Message, context: grpc.aio.ServicerContext) -> Message:
        """Validate, encode, send, decode; every failure ends the RPC with a detailed status."""
        remaining = context.time_remaining()
        deadline = None
        if remaining is not None:
            deadline = time.monotonic() + remaining - min(_DEADLINE_MARGIN_S, remaining / 10)
        record = current_rpc.get()
        rest, violations = _rest_request(route, request, deadline, record.request_id if record else None)
        if rest is None:
            summary = "invalid request: " + "; ".join(f"{f} {d}" for f, d in violations)
            await abort(context, invalid_argument_status(violations, summary))
        try:
            response = await self._client.request(rest)
        except RestError as exc:
            if record is not None:
                record.upstream_status = exc.status if isinstance(exc, TelnyxAPIError) else 0
            # Telnyx points at wire keys; name the caller's own fields (bridge's body `call_control_id` is
            # `other_call_control_id` here).
            desc = descriptors.descriptor_of(request)
            await abort(
                context,
                rest_error_status(exc, lambda pointer: proto_field_path(desc, pointer, route.path_params)),
            )
        if record is not None:
            record.upstream_status = response.status
            record.upstream_attempts = response.attempts
        try:
            return decode_response(route, response.json)
        except UnexpectedResponse as exc:
            await abort(context, rest_error_status(UpstreamProtocolError(response.status, str(exc))))


def _rest_request(
    route: Route, request: Message, deadline: float | None, request_id: str | None
) -> tuple[RestRequest | None, list[tuple[str, str]]]:
    """The REST request for `request`, or None and every bad field with what is wrong with it."""
    missing = missing_required(request, exclude=route.path_fields)
    violations = (
        [
            (proto_field_path(descriptors.descriptor_of(request), pointer, route.path_params), "is required")
            for pointer in missing
        ]
        if missing
        else []
    )
    dedup = route.dedup_field
    if dedup is not None and not getattr(request, dedup):
        # A key of our own makes a retried command harmless: Telnyx drops the duplicate.
        setattr(request, dedup, str(uuid.uuid4()))
    rest: RestRequest | None = None
    try:
        rest = encode_request(route, request, deadline=deadline, request_id=request_id)
    except WireError as exc:
        found = [(field_path(v.pointer), v.detail) for v in exc.violations]
        # The wire layer words its details as "<field> <problem>"; the field is named separately here.
        violations = [(f, d.removeprefix(f"{f} ")) for f, d in found] + violations
    if violations:
        return None, violations
    return rest, violations
