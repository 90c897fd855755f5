"""The shared inbox's fast lane: its messages are taken from the client's protocol parser as they arrive.

Every append's acknowledgement and every reader's delivery come through the connection's one inbox
subscription: two messages per webhook when the calls projection follows the log. nats-py makes each
message a `Msg`, decodes its headers, queues it for the subscription's task and awaits the callback from
there. `InboxClient` hands the inbox subscription's messages to a plain function instead, as
`InboxMessage`s whose headers `parse_headers` reads by nats-py's rules. Messages of every other
subscription take nats-py's own path.

The hook is `Client._process_msg`, which nats-py's parser calls for each message with the subscription's
id (deliveries carry the event's own subject, so the id, not the subject, tells the inbox's messages
apart). Should a release stop calling it, or stop keeping the id as `Subscription._id` and the open
subscriptions in `Client._subs`, the inbox's messages still arrive through the subscription's callback,
which hands them to the same function: slower, with the same behaviour.
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

_STATUS_PREFIX = b"NATS/1.0 "
_CRLF = b"\r\n"
_STATUS_LEN = 3


def parse_headers(block: bytes) -> dict[str, str] | None:
    """The fields of a NATS header block, as nats-py's client reports them.

    The block is a version line, `NATS/1.0` or `NATS/1.0 <status>[ <description>]`, then `Name: value`
    lines, each ending in CRLF. A status line gives `Status` (three digits) and `Description` (the rest of
    the line as it is). A field line's name and value are stripped of ASCII whitespace; lines without a
    colon, and names that hold whitespace or are not ASCII, are skipped; values are UTF-8 (invalid bytes
    replaced). Where nats-py would fail or misread (a status line that is not UTF-8, a status with no
    description followed by fields), the same rules read it plainly. None when a block without a status
    line has no fields.
    """
    first_end = block.find(_CRLF)
    first = block if first_end < 0 else block[:first_end]
    fields: dict[str, str] = {}
    status_line = first.startswith(_STATUS_PREFIX)
    if status_line:
        inline = first[len(_STATUS_PREFIX) :]
        status = inline[:_STATUS_LEN].strip()
        if status.isdigit():
            fields["Status"] = status.decode("ascii")
        description = inline[_STATUS_LEN + 1 :]
        if description:
            fields["Description"] = description.decode("utf-8", "replace")
    if first_end >= 0:
        for line in block[first_end + 2 :].split(_CRLF):
            name, colon, value = line.partition(b":")
            if not colon:
                continue
            raw_key = name.strip()
            if not raw_key.isascii():
                continue
            key = raw_key.decode("ascii")
            words = key.split()  # str rules: the ASCII separators 0x1C-0x1F count as whitespace too
            if key and (len(words) != 1 or words[0] != key):
                continue
            fields[key] = value.strip().decode("utf-8", "replace")
    return fields if fields or status_line else None


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
        if not isinstance(sid, int) or not isinstance(getattr(self, "_subs", None), dict):
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
        if sid not in self._subs:
            return  # unsubscribed (or drained): dropped, as nats-py drops it
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
