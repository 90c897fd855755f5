"""A request message ⇄ the Telnyx HTTP request, and a Telnyx response ⇄ the response message."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, cast
from urllib.parse import quote

from google.protobuf.message import Message

from voicesvc.rest.request import RestRequest
from voicesvc.transcode import paging, query
from voicesvc.transcode.routes import Route
from voicesvc.transcode.validate import MAX_ID_LENGTH, path_id_problem
from voicesvc.transcode.wire import INT32_MAX, Violation, WireError, from_json, to_json

PAGE_FIELDS = frozenset({"page_size", "page_token"})
_PATH_SAFE = ":@!$&'()*+,;=-._~"
# An id made only of these needs no quoting and holds nothing `path_id_problem` refuses (dot segments
# aside): the usual case, checked with one match instead of both.
_PLAIN_ID = re.compile(rf"[A-Za-z0-9:@!$&'()*+,;=._~-]{{1,{MAX_ID_LENGTH}}}")


class _ListRequest(Protocol):
    """The paging fields every list RPC's request has (`Route.is_list`)."""

    page_token: str
    page_size: int


class _ListResponse(Protocol):
    """The paging fields every list RPC's response has."""

    next_page_token: str
    total_size: int


def encode_request(
    route: Route, message: Message, *, deadline: float | None = None, request_id: str | None = None
) -> RestRequest:
    """The Telnyx request for an RPC request, with the route's retry mode and the caller's `deadline` and
    `request_id` (see `RestRequest`). Raises `WireError` for a path id that is unusable (empty, too long,
    or holding characters that would reach another path)."""
    path = route.path_template
    violations = []
    for name in route.path_params:
        value = getattr(message, name)
        if not (_PLAIN_ID.fullmatch(value) and ".." not in value and value != "."):
            problem = path_id_problem(value)
            if problem:
                violations.append(Violation(f"/{name}", f"{name} {problem}"))
            value = quote(value, safe=_PATH_SAFE)
        path = path.replace("{" + name + "}", value)
    if violations:
        raise WireError(violations)
    exclude = route.path_fields
    if route.has_body:
        body = to_json(message, exclude=exclude)
        return RestRequest(
            route.http_method, path, route.retry_mode, body=body, deadline=deadline, request_id=request_id
        )
    if not route.is_list:
        for field, _ in message.ListFields():
            if field.name not in exclude:
                break
        else:
            # Nothing set but the path (GetCallStatus): no query to write.
            return RestRequest(
                route.http_method, path, route.retry_mode, deadline=deadline, request_id=request_id
            )
    pairs = query.flatten(to_json(message, exclude=exclude | PAGE_FIELDS))
    if route.is_list:
        paged = cast(_ListRequest, message)
        token = paged.page_token
        if token:
            try:
                pairs.append(("page[number]", str(paging.decode_page_token(token))))
            except paging.PageTokenError as exc:
                raise WireError([Violation("/page_token", str(exc))]) from exc
        size = paged.page_size
        if size < 0 or size > paging.MAX_PAGE_SIZE:
            raise WireError(
                [Violation("/page_size", f"page_size must be between 0 and {paging.MAX_PAGE_SIZE}")]
            )
        if size:
            pairs.append(("page[size]", str(size)))
    return RestRequest(
        route.http_method, path, route.retry_mode, query=pairs, deadline=deadline, request_id=request_id
    )


def decode_request(
    route: Route, path_params: Mapping[str, str], query_pairs: Iterable[tuple[str, str]], body: Any
) -> Message:
    """The RPC request an HTTP request stands for (what the sandbox validates). Strict: raises
    `WireError` naming every field of the wrong type, unknown enum value or unknown key."""
    message = route.request_cls()
    for name in route.path_params:
        setattr(message, name, path_params[name])
    exclude = set(route.path_params)
    if route.has_body:
        if body is None:
            body = {}
        from_json(route.request_cls, body, strict=True, exclude=exclude, into=message)
        return message
    pairs = list(query_pairs)
    page_pairs = [(k, v) for k, v in pairs if k in ("page[number]", "page[size]")]
    rest = [(k, v) for k, v in pairs if k not in ("page[number]", "page[size]")]
    try:
        data = query.nest(rest)
    except query.QueryError as exc:
        raise WireError([Violation("/", str(exc))]) from exc
    from_json(
        route.request_cls, data, strict=True, coerce_strings=True, exclude=exclude | PAGE_FIELDS, into=message
    )
    paged = cast(_ListRequest, message)
    violations = []
    for key, value in page_pairs:
        if not route.is_list:
            violations.append(Violation(f"/{key}", "is not a known field"))
        elif not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= INT32_MAX:
            violations.append(Violation(f"/{key}", f"must be an integer from 1 to {INT32_MAX}"))
        elif key == "page[number]":
            paged.page_token = paging.encode_page_token(int(value))
        else:
            paged.page_size = int(value)
    if violations:
        raise WireError(violations)
    return message


def list_field(route: Route) -> str:
    """The repeated field of a list response that receives Telnyx's `data` array."""
    desc = route.response_cls.DESCRIPTOR
    return next(f.name for f in desc.fields if f.is_repeated)


class UnexpectedResponse(ValueError):
    """A 2xx JSON document without the `data` the endpoint answers with: what happened is unknown."""


def decode_response(route: Route, document: Any) -> Message:
    """The RPC response for Telnyx's JSON: `data` (or list `data` + `meta`); unknown keys ignored.

    An empty body (None) gives an empty response; a document whose `data` is missing or of the wrong kind
    raises `UnexpectedResponse`.
    """
    if document is None:
        return route.response_cls()
    data = document.get("data") if isinstance(document, dict) else None
    if not route.is_list:
        if not isinstance(data, dict):
            raise UnexpectedResponse("the response has no `data` object")
        return from_json(route.response_cls, data)
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise UnexpectedResponse("the response has no `data` array of objects")
    response = route.response_cls()
    items = getattr(response, list_field(route))
    item_cls = type(items.add())
    del items[:]
    for item in data:
        items.append(from_json(item_cls, item))
    meta = document.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    page, pages, total = meta.get("page_number"), meta.get("total_pages"), meta.get("total_results")
    paged = cast(_ListResponse, response)
    if isinstance(page, int) and isinstance(pages, int) and 0 < page < pages:
        paged.next_page_token = paging.encode_page_token(page + 1)
    if isinstance(total, int) and total >= 0:
        paged.total_size = min(total, INT32_MAX)
    return response
