"""What receives Telnyx webhooks: verify, parse, append, answer (`WebhookIngress`, whatever HTTP server
read the request), and an aiohttp handler around it (`make_webhook_handler`: read, size-limited, then the
same).

An event whose stream message would exceed `max_event_bytes` is refused before it is stored (413
`event_too_large`), sized by the `measure` callable the server passes in (the exact message its stream
delivers, or a proven upper bound of it within the limit). It answers 200 only once the event log
confirmed the append, so any failure makes Telnyx deliver again; redeliveries are recognised by `data.id`
and acknowledged without being stored twice.
Every refusal is JSON `{"error": {"reason": ..., "message": ...}}` with the status of its reason (see
`RejectReason`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web

from voicesvc.events.log import (
    EventIds,
    EventLog,
    EventTooLarge,
    LogUnavailable,
    is_valid_event_id,
    is_valid_event_type,
)
from voicesvc.webhooks.metrics import WebhookOutcomes
from voicesvc.webhooks.verify import RejectReason, WebhookRejected, WebhookVerifier, parse_json_object

__all__ = [
    "EventMeasure",
    "Reply",
    "WebhookHandler",
    "WebhookIngress",
    "make_webhook_handler",
    "read_limited",
]

WebhookHandler = Callable[[web.Request], Awaitable[web.Response]]
EventMeasure = Callable[[bytes, dict[str, Any], str, str, int, int], int]
"""`(raw body, parsed body, event id, event type, attempt, limit) → bytes` of the message subscribers will
receive: the exact size, or an upper bound of it that is at most `limit` (so a size above `limit` is
always exact)."""
DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_MAX_EVENT_BYTES = 3 << 20

logger = structlog.get_logger("voicesvc.webhooks")


async def read_limited(request: web.Request, max_bytes: int) -> bytes:
    """The request body, holding at most `max_bytes + 1` bytes; larger bodies raise `body_too_large`."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise _body_too_large(max_bytes)
    content = request.content
    # Never ask for more than one byte past the limit: that byte is enough to know it is exceeded.
    first = await content.read(max_bytes + 1)
    if len(first) > max_bytes:
        raise _body_too_large(max_bytes)
    if not first or content.at_eof():
        return first  # the whole body in one read, as a webhook's usually is: no copy
    body = bytearray(first)
    while True:
        chunk = await content.read(max_bytes + 1 - len(body))
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > max_bytes:
            raise _body_too_large(max_bytes)


def _body_too_large(max_bytes: int) -> WebhookRejected:
    return WebhookRejected.of(RejectReason.BODY_TOO_LARGE, f"body exceeds {max_bytes} bytes")


def _envelope_fields(body: dict[str, Any]) -> tuple[str, str, int, EventIds]:
    """`(data.id, data.event_type, meta.attempt, the payload's correlation ids)`; the attempt defaults to 1
    when absent or malformed."""
    data = body.get("data")
    if not isinstance(data, dict):
        raise WebhookRejected.of(RejectReason.INVALID_EVENT, "body has no `data` object")
    event_id, event_type = data.get("id"), data.get("event_type")
    if not is_valid_event_id(event_id):
        raise WebhookRejected.of(RejectReason.INVALID_EVENT, "`data.id` is missing or malformed")
    if not is_valid_event_type(event_type):
        raise WebhookRejected.of(RejectReason.INVALID_EVENT, "`data.event_type` is missing or malformed")
    meta = body.get("meta")
    attempt = meta.get("attempt") if isinstance(meta, dict) else None
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        attempt = 1
    assert isinstance(event_id, str)
    assert isinstance(event_type, str)
    return event_id, event_type, attempt, EventIds.of_payload(data.get("payload"))


_ACCEPTED_HEAD = b'{"status": "accepted", "cursor": "'
_ACCEPTED_TAIL = {False: b'", "duplicate": false}', True: b'", "duplicate": true}'}


@dataclass(frozen=True, slots=True)
class Reply:
    """What a webhook is answered: an HTTP status and a JSON body."""

    status: int
    body: bytes


def _accepted(cursor: str, duplicate: bool) -> Reply:
    """`{"status": "accepted", "cursor": ..., "duplicate": ...}`, byte for byte what `json.dumps` writes,
    assembled from pre-encoded parts (every webhook is answered with it; a cursor is base32hex text, with
    nothing to escape)."""
    return Reply(200, _ACCEPTED_HEAD + cursor.encode("ascii") + _ACCEPTED_TAIL[duplicate])


class WebhookIngress:
    """Verifies, parses, sizes and stores webhooks in `log`, whatever HTTP server received them.

    `receive` answers `{"status": "accepted", "cursor": <cursor>, "duplicate": <bool>}` (for a duplicate
    the cursor is the one of the copy stored first), or a refusal. With `measure`, events it sizes above
    `max_event_bytes` are refused (413 `event_too_large`). Bodies above `max_body_bytes` are the HTTP
    server's to refuse, with `body_too_large`.
    """

    def __init__(
        self,
        verifier: WebhookVerifier,
        log: EventLog,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        metrics: WebhookOutcomes | None = None,
        measure: EventMeasure | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        if max_body_bytes < 1 or max_event_bytes < 1:
            raise ValueError("max_body_bytes and max_event_bytes must be positive")
        self.verifier = verifier
        self.log = log
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        self.measure = measure
        self.max_event_bytes = max_event_bytes

    async def receive(self, headers: Mapping[str, str], raw: bytes, remote: str | None) -> Reply:
        """Verify `raw` with `headers`, store it, and say how it went."""
        try:
            if len(raw) > self.max_body_bytes:
                raise _body_too_large(self.max_body_bytes)
            self.verifier.verify(headers, raw)
            body = parse_json_object(raw)
            event_id, event_type, attempt, ids = _envelope_fields(body)
            measure = self.measure
            if measure is not None:
                size = measure(raw, body, event_id, event_type, attempt, self.max_event_bytes)
                if size > self.max_event_bytes:
                    raise WebhookRejected.of(
                        RejectReason.EVENT_TOO_LARGE,
                        f"the event would reach subscribers as a {size}-byte message; "
                        f"at most {self.max_event_bytes} bytes are accepted",
                    )
            try:
                result = await self.log.append(raw, event_id, event_type, attempt, ids)
            except EventTooLarge as exc:
                raise WebhookRejected.of(RejectReason.EVENT_TOO_LARGE, str(exc)) from exc
            except LogUnavailable as exc:
                logger.error("webhook_not_stored", event_id=event_id, event_type=event_type, error=str(exc))
                raise WebhookRejected.of(
                    RejectReason.LOG_UNAVAILABLE, "the event could not be stored; deliver it again later"
                ) from exc
        except WebhookRejected as rejection:
            return self.refuse(rejection, remote)
        metrics = self.metrics
        if metrics is not None:
            if result.duplicate:
                metrics.duplicate()
            else:
                metrics.accepted()
        logger.debug(
            "webhook_accepted",
            event_id=event_id,
            event_type=event_type,
            cursor=result.event.cursor,
            duplicate=result.duplicate,
        )
        return _accepted(result.event.cursor, result.duplicate)

    def refuse(self, rejection: WebhookRejected, remote: str | None) -> Reply:
        """Count, log and answer a refused webhook (a body too large comes here from the HTTP server)."""
        if self.metrics is not None:
            self.metrics.rejected(rejection.reason)
        logger.warning(
            "webhook_rejected",
            reason=rejection.reason,
            status=rejection.http_status,
            detail=rejection.message,
            remote=remote,
        )
        document = {"error": {"reason": rejection.reason, "message": rejection.message}}
        return Reply(rejection.http_status, json.dumps(document).encode())

    def refuse_too_large(self, remote: str | None) -> Reply:
        """The answer to a body above `max_body_bytes` (413 `body_too_large`)."""
        return self.refuse(_body_too_large(self.max_body_bytes), remote)


def make_webhook_handler(
    verifier: WebhookVerifier,
    log: EventLog,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    metrics: WebhookOutcomes | None = None,
    measure: EventMeasure | None = None,
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
) -> WebhookHandler:
    """A POST handler for an aiohttp application storing verified webhooks in `log`; mount it on the route
    of your choice. It answers as `WebhookIngress.receive` does, and refuses bodies above `max_body_bytes`
    (413 `body_too_large`) without reading them whole.
    """
    ingress = WebhookIngress(
        verifier,
        log,
        max_body_bytes=max_body_bytes,
        metrics=metrics,
        measure=measure,
        max_event_bytes=max_event_bytes,
    )

    async def handle_webhook(request: web.Request) -> web.Response:
        try:
            raw = await read_limited(request, max_body_bytes)
        except WebhookRejected as rejection:
            reply = ingress.refuse(rejection, request.remote)
        else:
            reply = await ingress.receive(request.headers, raw, request.remote)
        return web.Response(
            body=reply.body, status=reply.status, content_type="application/json", charset="utf-8"
        )

    return handle_webhook
