"""How events are laid out as JetStream messages: their subjects and headers.

Subject layout 2 puts every id a subscription can filter on into the subject, so the NATS server filters
for each consumer and an idle subscriber is never sent (or woken for) an event it cannot match:

    <prefix>.<connection id>.<call session id>.<call control id>.<event type tokens>

Each id is one token: `_` when the event has none, the id itself when it is made of letters, digits, `-`
and `:`, otherwise every other byte escaped as `_XX` (upper-case hex of its UTF-8 bytes), and an escaped id
longer than `MAX_ID_TOKEN` becomes `_H` and a hash of it (the exact ids travel in headers too, and every
reader checks them). The three kinds of token cannot be mistaken for one another. A subscription's filter
becomes subject filters: each set id list one token position (`*` where unset), the event types the tail
(an exact type, a prefix's tokens and `>`, or `>` for any). When the combinations would be too many
(`MAX_FILTER_SUBJECTS`), the widest id positions become `*` and the reader checks what the server did not.

The layout is versioned through the default stream name and subject prefix (`VOICESVC_EVENTS_V2`,
`voicesvc.events-v2`, which do not overlap the first layout's `voicesvc.events.>`) and recorded in the
stream's metadata, so a stream holding another layout is refused instead of misread.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import re
from collections.abc import Mapping

from voicesvc.events.log import EventFilter, EventIds, IdFilter, StoredEvent

__all__ = [
    "HEADER_ATTEMPT",
    "HEADER_EVENT_TYPE",
    "HEADER_MSG_ID",
    "HEADER_RECEIVED_AT",
    "LAYOUT_METADATA_KEY",
    "MAX_FILTER_SUBJECTS",
    "SUBJECT_LAYOUT",
    "decode_event",
    "event_headers",
    "event_message",
    "event_subject",
    "filter_subjects",
    "id_token",
    "stream_subjects",
]

SUBJECT_LAYOUT = "2"
LAYOUT_METADATA_KEY = "voicesvc_subject_layout"

HEADER_MSG_ID = "Nats-Msg-Id"
HEADER_EVENT_TYPE = "Voicesvc-Event-Type"
HEADER_RECEIVED_AT = "Voicesvc-Received-At"
HEADER_ATTEMPT = "Voicesvc-Attempt"
HEADER_CALL_CONTROL_ID = "Voicesvc-Call-Control-Id"
HEADER_CALL_SESSION_ID = "Voicesvc-Call-Session-Id"
HEADER_CONNECTION_ID = "Voicesvc-Connection-Id"
HEADER_IDS_IN_BODY = "Voicesvc-Ids-In-Body"
"""Present when a reader is not to look for the id headers: `1` when an id cannot be a header value (not
printable ASCII), so readers take the ids from the body; `subject` (`IDS_IN_SUBJECT`) when the subject
spells every id as it is, so readers take them from there. (Readers of earlier builds only look at whether
the header is present, and take the ids from the body either way.)"""
IDS_IN_SUBJECT = "subject"

_ID_HEADERS = (HEADER_CALL_CONTROL_ID, HEADER_CALL_SESSION_ID, HEADER_CONNECTION_ID)
"""In the order of `EventIds`' fields."""

ABSENT = "_"
MAX_ID_TOKEN = 160
"""Longest id token written as is (or escaped); longer ids are hashed, keeping subjects short."""
MAX_FILTER_SUBJECTS = 256
"""Most subject filters one consumer gets; beyond that id positions are widened to `*`."""

_PLAIN = re.compile(r"[A-Za-z0-9:-]+")
_SAFE_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:-")
_HEADER_VALUE = re.compile(r"[\x21-\x7e]{1,1024}")
_NO_IDS = EventIds()
_ANY_IDS = IdFilter()


def stream_subjects(prefix: str) -> str:
    """The subject filter covering every event under `prefix`."""
    return f"{prefix}.>"


def id_token(value: str) -> str:
    """The subject token of one id (see the module docstring)."""
    if not value:
        return ABSENT
    if _PLAIN.fullmatch(value) and len(value) <= MAX_ID_TOKEN:
        return value
    escaped = "".join(chr(b) if b in _SAFE_CHARS else f"_{b:02X}" for b in value.encode("utf-8", "replace"))
    if len(escaped) <= MAX_ID_TOKEN:
        return escaped
    return "_H" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:40]


def event_subject(prefix: str, event_type: str, ids: EventIds = _NO_IDS) -> str:
    """The subject an event of `event_type` with `ids` is published to."""
    leg, session, connection = (
        id_token(ids.call_control_id),
        id_token(ids.call_session_id),
        id_token(ids.connection_id),
    )
    return _subject(prefix, event_type, leg, session, connection)


def _subject(prefix: str, event_type: str, leg: str, session: str, connection: str) -> str:
    """The layout's subject from the tokens of the three ids."""
    return f"{prefix}.{connection}.{session}.{leg}.{event_type}"


def filter_subjects(prefix: str, event_filter: EventFilter, ids: IdFilter = _ANY_IDS) -> list[str]:
    """Subject filters selecting the events `event_filter` and `ids` let through (never overlapping).

    Exact unless the id combinations exceed `MAX_FILTER_SUBJECTS`: then they select more, never less.
    """
    tails = (
        [">"]
        if event_filter.matches_all
        else sorted(event_filter.exact) + [f"{p}>" for p in event_filter.prefixes]
    )
    positions = [
        sorted({id_token(v) for v in ids.connection_ids}) or ["*"],
        sorted({id_token(v) for v in ids.call_session_ids}) or ["*"],
        sorted({id_token(v) for v in ids.call_control_ids}) or ["*"],
    ]
    while _combinations(positions) * len(tails) > MAX_FILTER_SUBJECTS:
        widest = max(range(3), key=lambda i: len(positions[i]))
        positions[widest] = ["*"]
    if all(p == ["*"] for p in positions) and tails == [">"]:
        return [stream_subjects(prefix)]
    return [
        f"{prefix}.{conn}.{session}.{leg}.{tail}"
        for conn, session, leg in itertools.product(*positions)
        for tail in tails
    ]


def _combinations(positions: list[list[str]]) -> int:
    count = 1
    for tokens in positions:
        count *= len(tokens)
    return count


def event_headers(event_id: str, received_at: float, attempt: int, ids: EventIds = _NO_IDS) -> dict[str, str]:
    """Headers of an appended event; `Nats-Msg-Id` makes JetStream drop redeliveries of the same id.

    Only what the subject does not say: the event type is the subject's tail, an attempt of 1 is what a
    reader assumes without the header, and ids the subject spells as they are are read from there (each
    header costs the client a few µs to write, and every reader as much to parse). Ids the subject has to
    escape or hash travel in headers.
    """
    return event_message("", "", event_id, received_at, attempt, ids)[1]


def event_message(
    prefix: str, event_type: str, event_id: str, received_at: float, attempt: int, ids: EventIds = _NO_IDS
) -> tuple[str, dict[str, str]]:
    """The subject (`event_subject`) and the headers (`event_headers`) of an appended event, each id's token
    made once."""
    values = (ids.call_control_id, ids.call_session_id, ids.connection_id)
    # Spelled out rather than looped: this runs for every webhook.
    leg, session, connection = id_token(values[0]), id_token(values[1]), id_token(values[2])
    subject = _subject(prefix, event_type, leg, session, connection)
    headers = {HEADER_MSG_ID: event_id, HEADER_RECEIVED_AT: repr(received_at)}
    if attempt != 1:
        headers[HEADER_ATTEMPT] = str(attempt)
    if not any(values):
        return subject, headers
    if (
        (not values[0] or leg == values[0])
        and (not values[1] or session == values[1])
        and (not values[2] or connection == values[2])
    ):
        headers[HEADER_IDS_IN_BODY] = IDS_IN_SUBJECT
        return subject, headers
    for name, value in zip(_ID_HEADERS, values, strict=True):
        if not value:
            continue
        if _HEADER_VALUE.fullmatch(value):
            headers[name] = value
        else:
            headers[HEADER_IDS_IN_BODY] = "1"
    return subject, headers


def _ids_of_tokens(connection: str, session: str, leg: str) -> EventIds | None:
    """The ids the subject's tokens spell as they are, or None if one is escaped or hashed (starts with `_`
    without being `ABSENT`), which a writer marking `IDS_IN_SUBJECT` never does."""
    found = []
    for token in (leg, session, connection):
        if token == ABSENT:
            found.append("")
        elif token.startswith("_"):
            return None
        else:
            found.append(token)
    return EventIds(*found)


def decode_event(
    prefix: str,
    seq: int,
    cursor: str,
    subject: str,
    headers: Mapping[str, str] | None,
    data: bytes,
    stored_at: float | None,
) -> StoredEvent:
    """The stored event a message holds; missing or malformed headers fall back to what the stream knows
    (`stored_at`: when it stored the message, in seconds since the epoch)."""
    headers = headers or {}
    # `<connection id>.<call session id>.<call control id>.<event type>` below the prefix.
    tokens = subject.removeprefix(prefix + ".").split(".", 3)
    # Written without the type header since it is the subject's tail; older events carry it.
    event_type = headers.get(HEADER_EVENT_TYPE) or tokens[-1]
    try:
        received_at = float(headers[HEADER_RECEIVED_AT])
    except (KeyError, ValueError):
        received_at = stored_at or 0.0
    attempt = 1  # written only when it is another
    attempt_text = headers.get(HEADER_ATTEMPT)
    if attempt_text is not None:
        with contextlib.suppress(ValueError):
            attempt = max(int(attempt_text), 1)
    event_id = headers.get(HEADER_MSG_ID) or f"seq-{seq}"
    where = headers.get(HEADER_IDS_IN_BODY)
    if where is None:
        ids = EventIds(*(headers.get(h, "") for h in _ID_HEADERS))
    elif where == IDS_IN_SUBJECT and len(tokens) == 4:
        ids = _ids_of_tokens(tokens[0], tokens[1], tokens[2]) or EventIds.of_body(data)
    else:
        ids = EventIds.of_body(data)
    return StoredEvent(seq, cursor, event_id, event_type, received_at, attempt, bytes(data), ids)
