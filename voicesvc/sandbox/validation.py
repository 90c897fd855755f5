"""Request validation from the contract's descriptors, answered the way Telnyx answers it (422)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.message import Message

from voicesvc.sandbox.errors import BAD_REQUEST, MISSING_PARAMETER, ApiError, error_object
from voicesvc.transcode.http import decode_request
from voicesvc.transcode.pointer import dotted, query_parameter
from voicesvc.transcode.routes import Route
from voicesvc.transcode.validate import missing_required
from voicesvc.transcode.wire import WireError


def validate_request(
    route: Route, path_params: Mapping[str, str], query: list[tuple[str, str]], body: Any
) -> Message:
    """Decode strictly and check required fields; raises a 422 `ApiError` naming each bad field."""
    in_query = not route.has_body
    try:
        message = decode_request(route, path_params, query, body)
    except WireError as exc:
        errors = []
        for v in exc.violations:
            name = query_parameter(v.pointer) if in_query else None
            label = name or dotted(v.pointer) or "request body"
            errors.append(
                error_object(
                    BAD_REQUEST,
                    "Invalid value",
                    f"{label} {v.detail}".strip(),
                    pointer=v.pointer or "/",
                    parameter=name or None,
                )
            )
        raise ApiError(422, errors) from None
    missing = missing_required(message, exclude=frozenset(route.path_params))
    if missing:
        raise ApiError(
            422,
            [
                error_object(
                    MISSING_PARAMETER,
                    "Missing required parameter",
                    f"The '{dotted(p)}' parameter is required.",
                    pointer=p,
                    parameter=query_parameter(p) if in_query else None,
                )
                for p in missing
            ],
        )
    return message
