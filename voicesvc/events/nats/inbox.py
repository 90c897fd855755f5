"""The shared inbox's fast lane: its messages are taken from the client's protocol parser as they arrive.

Every append's acknowledgement and every reader's delivery come through the connection's one inbox
subscription: two messages per webhook when the calls projection follows the log. nats-py makes each
message a `Msg`, decodes its headers one character at a time, queues it for the subscription's task and
awaits the callback from there. `InboxClient` hands the inbox subscription's messages to a plain function
instead, as `InboxMessage`s whose headers `parse_headers` reads (only the lines NATS writes: a version line
with an optional status, then `Name: value` lines). Messages of every other subscription take nats-py's
own path.

The hook is `Client._process_msg`, which nats-py's parser calls for each message with the subscription's
id (deliveries carry the event's own subject, so the id, not the subject, tells the inbox's messages
apart). Should a release stop calling it, or stop keeping the id as `Subscription._id`, the inbox's
messages still arrive through the subscription's callback, which hands them to the same function: slower,
with the same behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import structlog
from nats.aio.client import Client
from nats.aio.subscription import Subscription

__all__ = ["InboxClient", "InboxHandler", "InboxMessage", "parse_headers"]

logger = structlog.get_logger("voicesvc.events.nats")


class InboxMessage(NamedTuple):
    """One message on the inbox, as the server sent it."""

    subject: str
    reply: str
    headers: dict[str, str] | None
    """Its header fields (`Status` and `Description` for a status line), or None when it has none."""
    data: bytes


InboxHandler = Callable[[InboxMessage], None]
"""Takes each inbox message, in the order the server sent them; must not block."""

_VERSION_LINE = "NATS/1.0"
_STATUS_LEN = 3


def parse_headers(block: bytes) -> dict[str, str] | None:
    """The fields of a NATS header block (`NATS/1.0[ <status>[ <description>]]` and then `Name: value`
    lines, each ending in CRLF), with the status line's parts as `Status` and `Description`, as nats-py
    reports them. Lines without a colon are skipped, as are names with a space inside or outside ASCII.
    None when there are no fields."""
    lines = block.decode("utf-8", "replace").split("\r\n")
    fields: dict[str, str] = {}
    status_line = lines[0]
    if status_line.startswith(_VERSION_LINE) and len(status_line) > len(_VERSION_LINE):
        inline = status_line[len(_VERSION_LINE) + 1 :]
        status = inline[:_STATUS_LEN].strip()
        if status.isdigit():
            fields["Status"] = status
        description = inline[_STATUS_LEN + 1 :].strip()
        if description:
            fields["Description"] = description
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            continue
        name = name.strip()
        if len(name.split()) > 1 or not name.isascii():
            continue
        fields[name] = value.strip()
    return fields or None


class InboxClient(Client):
    """nats-py's client, with the messages of one subscription (`take`) handed over directly."""

    def __init__(self) -> None:
        super().__init__()
        self._voicesvc_sid: int | None = None
        self._voicesvc_handler: InboxHandler | None = None

    def take(self, subscription: Subscription, handler: InboxHandler) -> bool:
        """From now on, hand `subscription`'s messages to `handler` rather than to its callback (which should
        do the same, for messages already queued). False when the subscription's id cannot be told."""
        sid = getattr(subscription, "_id", None)
        if not isinstance(sid, int):
            return False
        self._voicesvc_sid = sid
        self._voicesvc_handler = handler
        return True

    async def _process_msg(  # nats-py's parser passes None for `headers` when there are none
        self,
        sid: int,
        subject: bytes,
        reply: bytes,
        data: bytes,
        headers: bytes,
        *args: Any,
        **kw: Any,
    ) -> None:
        handler = self._voicesvc_handler
        if handler is None or sid != self._voicesvc_sid:
            await super()._process_msg(sid, subject, reply, data, headers, *args, **kw)
            return
        stats = self.stats
        stats["in_msgs"] += 1
        stats["in_bytes"] += len(data)
        message = InboxMessage(
            subject.decode(), reply.decode(), parse_headers(headers) if headers else None, bytes(data)
        )
        try:
            handler(message)
        except Exception:
            # The parser's read loop must go on: one bad message must not cut the connection.
            logger.exception("nats_inbox_handler_failed", subject=message.subject)
