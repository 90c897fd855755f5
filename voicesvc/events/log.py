"""The event log contract: value types, cursors, type filters and the backend interfaces.

Verified webhook events are appended to an `EventLog`; every `Subscription` reads the log at its own pace
from a chosen start point and sees each matching event exactly once, in append order.

A subscription's filter has two parts, both applied by the log itself: event types (`EventFilter`) and the
correlation ids of the event (`IdFilter`: call control, call session and connection ids, which the log
learns at append as `EventIds`). Backends use them to do work only for the subscriptions an event can
match: an idle subscriber costs nothing per event it does not match.

Cursors are opaque strings naming a position in one log: "after this cursor" means "every event appended
later". They embed the log's epoch (a number identifying one incarnation of the log), so a cursor that was
issued by a log that no longer exists is recognised instead of silently skipping events. Cursors issued by
the same log compare, as strings, in log order.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import struct
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal, NamedTuple, Self

from voicesvc import jsontext

__all__ = [
    "AppendResult",
    "CursorExpired",
    "CursorPosition",
    "EventFilter",
    "EventIds",
    "EventLog",
    "EventLogError",
    "EventTooLarge",
    "IdFilter",
    "InvalidCursor",
    "LogClosed",
    "LogUnavailable",
    "Start",
    "StoredEvent",
    "Subscription",
    "decode_cursor",
    "encode_cursor",
    "is_valid_event_id",
    "is_valid_event_type",
    "type_prefixes",
    "validate_append",
]

CURSOR_VERSION = 1
# version byte, 32-bit log epoch, 64-bit sequence; big-endian so the encoding sorts like the sequence.
_CURSOR = struct.Struct(">BIQ")
# base32hex keeps byte order in string order, which plain base64 does not.
_CURSOR_CHARS = 21
_CURSOR_PADDING = "==="

MAX_EVENT_TYPE_LENGTH = 128
MAX_EVENT_ID_LENGTH = 256
# Event types become NATS subject tokens, so only characters that are safe there are allowed.
_EVENT_TYPE = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
# Event ids become a NATS header value: printable ASCII, no spaces or control characters.
_EVENT_ID = re.compile(r"[\x21-\x7e]+")


class EventLogError(Exception):
    """Base class of the event log errors."""


class InvalidCursor(EventLogError, ValueError):
    """The cursor is not one this service issued (garbage, wrong version, or ahead of the log)."""


class CursorExpired(EventLogError):
    """The requested position is older than the retention: events after it are no longer available.

    `oldest_cursor` names the position just before the oldest retained event, so subscribing with
    `Start.after(oldest_cursor)` replays everything that is still available.
    """

    def __init__(self, oldest_cursor: str, message: str | None = None) -> None:
        super().__init__(message or f"position is older than the retention; oldest: {oldest_cursor}")
        self.oldest_cursor = oldest_cursor


class EventTooLarge(EventLogError):
    """The backend cannot store an event this large (NATS: beyond the server's `max_payload`); storing it
    again will never succeed."""


class LogUnavailable(EventLogError):
    """The log cannot be reached or did not confirm the operation; nothing can be assumed to be stored."""


class LogClosed(LogUnavailable):
    """The log was closed; open subscriptions end with this error."""


class CursorPosition(NamedTuple):
    """A decoded cursor: the log epoch that issued it and the sequence it names."""

    epoch: int
    seq: int


def encode_cursor(seq: int, epoch: int = 0) -> str:
    """Encode a log position (sequence `seq` of the log incarnation `epoch`) as an opaque cursor.

    The base32hex text of `_CURSOR` without its padding. Version and epoch fill the first 5 bytes, exactly
    8 characters, the same for every cursor of a log; the sequence's 64 bits (and one zero bit) are the
    other 13, written here 10 bits at a time (the standard library's encoder costs several times more,
    and every appended event needs its cursor).
    """
    if not 0 <= seq < 1 << 64:
        raise ValueError(f"sequence out of range: {seq}")
    if not 0 <= epoch < 1 << 32:
        raise ValueError(f"epoch out of range: {epoch}")
    bits = seq << 1
    pairs = _BASE32HEX_PAIRS
    return (
        _cursor_prefix(epoch)
        + pairs[bits >> 55]
        + pairs[(bits >> 45) & 1023]
        + pairs[(bits >> 35) & 1023]
        + pairs[(bits >> 25) & 1023]
        + pairs[(bits >> 15) & 1023]
        + pairs[(bits >> 5) & 1023]
        + _BASE32HEX[bits & 31]
    )


_BASE32HEX = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
_BASE32HEX_PAIRS = [first + second for first in _BASE32HEX for second in _BASE32HEX]


@functools.lru_cache(maxsize=64)
def _cursor_prefix(epoch: int) -> str:
    """The 8 characters every cursor of the log incarnation `epoch` starts with."""
    return base64.b32hexencode(_CURSOR.pack(CURSOR_VERSION, epoch, 0)[:5]).decode("ascii")


def decode_cursor(cursor: str) -> CursorPosition:
    """Decode a cursor made by `encode_cursor`; anything else raises `InvalidCursor`."""
    if not isinstance(cursor, str) or len(cursor) != _CURSOR_CHARS:
        raise InvalidCursor("malformed cursor")
    try:
        raw = base64.b32hexdecode(cursor + _CURSOR_PADDING)
    except (binascii.Error, ValueError):
        raise InvalidCursor("malformed cursor") from None
    version, epoch, seq = _CURSOR.unpack(raw)
    if version != CURSOR_VERSION:
        raise InvalidCursor("unsupported cursor version")
    # Reject non-canonical spellings (stray low bits) so each position has exactly one cursor.
    if encode_cursor(seq, epoch) != cursor:
        raise InvalidCursor("malformed cursor")
    return CursorPosition(epoch, seq)


def is_valid_event_type(event_type: object) -> bool:
    """True for dotted event types such as `call.answered` (letters, digits, `_`, `-` between dots)."""
    return (
        isinstance(event_type, str)
        and len(event_type) <= MAX_EVENT_TYPE_LENGTH
        and _EVENT_TYPE.fullmatch(event_type) is not None
    )


def is_valid_event_id(event_id: object) -> bool:
    """True for a non-empty printable ASCII id without whitespace, at most 256 characters."""
    return (
        isinstance(event_id, str)
        and 0 < len(event_id) <= MAX_EVENT_ID_LENGTH
        and _EVENT_ID.fullmatch(event_id) is not None
    )


def validate_append(raw: bytes, event_id: str, event_type: str, attempt: int) -> None:
    """Raise `ValueError` unless the arguments of `EventLog.append` are well formed."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise ValueError("raw must be bytes")
    if not is_valid_event_id(event_id):
        raise ValueError(f"invalid event id: {event_id!r}")
    if not is_valid_event_type(event_type):
        raise ValueError(f"invalid event type: {event_type!r}")
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise ValueError(f"invalid attempt: {attempt!r}")


@dataclass(frozen=True, slots=True)
class EventIds:
    """The correlation ids of one event (from its `data.payload`); empty where the event has none."""

    call_control_id: str = ""
    call_session_id: str = ""
    connection_id: str = ""

    @classmethod
    def of_payload(cls, payload: object) -> EventIds:
        """The ids a webhook's `data.payload` names (only string values count, as in the delivered event)."""
        if not isinstance(payload, dict):
            return _NO_IDS
        # Spelled out: every webhook passes here.
        call_control_id = payload.get("call_control_id")
        call_session_id = payload.get("call_session_id")
        connection_id = payload.get("connection_id")
        if not (call_control_id or call_session_id or connection_id):
            return _NO_IDS
        return cls(
            call_control_id if isinstance(call_control_id, str) else "",
            call_session_id if isinstance(call_session_id, str) else "",
            connection_id if isinstance(connection_id, str) else "",
        )

    @classmethod
    def of_body(cls, raw: bytes) -> EventIds:
        """The ids of a raw webhook body; none for a body that is not a JSON envelope."""
        try:
            body = jsontext.loads(raw)
        except (ValueError, RecursionError):
            return _NO_IDS
        data = body.get("data") if isinstance(body, dict) else None
        return cls.of_payload(data.get("payload") if isinstance(data, dict) else None)


_EMPTY: frozenset[str] = frozenset()
"""Every unset filter list is this one object: an empty frozenset built from an empty list is a new
object of its own (about 200 bytes), held by each open subscription."""
_NO_IDS = EventIds()


@dataclass(frozen=True, slots=True)
class IdFilter:
    """Correlation id lists of a subscription: each non-empty list must hold the event's id (AND across
    lists, OR within one). No lists means every event."""

    call_control_ids: frozenset[str] = frozenset()
    call_session_ids: frozenset[str] = frozenset()
    connection_ids: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        call_control_ids: Iterable[str] = (),
        call_session_ids: Iterable[str] = (),
        connection_ids: Iterable[str] = (),
    ) -> IdFilter:
        """A filter of the given lists; raises `ValueError` for an empty or non-string id."""
        lists = []
        for name, values in (
            ("call_control_ids", call_control_ids),
            ("call_session_ids", call_session_ids),
            ("connection_ids", connection_ids),
        ):
            if isinstance(values, str | bytes):
                raise TypeError(f"{name} must be a collection of strings, not a single string")
            ids = frozenset(values)
            if any(not isinstance(v, str) or not v for v in ids):
                raise ValueError(f"{name}: ids must be non-empty strings")
            lists.append(ids or _EMPTY)
        return cls(*lists)

    @property
    def matches_all(self) -> bool:
        """True when no list is set."""
        return not (self.call_control_ids or self.call_session_ids or self.connection_ids)

    def matches(self, ids: EventIds) -> bool:
        """True if an event with `ids` passes every list that is set."""
        return (
            (not self.call_control_ids or ids.call_control_id in self.call_control_ids)
            and (not self.call_session_ids or ids.call_session_id in self.call_session_ids)
            and (not self.connection_ids or ids.connection_id in self.connection_ids)
        )


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One verified webhook event as stored in the log."""

    seq: int
    """Position in the log, increasing by append order."""
    cursor: str
    """Opaque cursor of this position; `Start.after(cursor)` resumes right after this event."""
    event_id: str
    """Telnyx's `data.id`, used to drop redelivered duplicates."""
    event_type: str
    """Telnyx's `data.event_type`, e.g. `call.answered`."""
    received_at: float
    """Unix time at which the event was appended."""
    attempt: int
    """Telnyx's delivery attempt (`meta.attempt`) of the stored copy."""
    raw: bytes = field(repr=False)
    """The exact JSON body as received and verified."""
    ids: EventIds = _NO_IDS
    """The correlation ids of the event, as subscriptions filter on them."""


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Outcome of `EventLog.append`: the stored event, and whether it had been stored before."""

    event: StoredEvent
    """The event as stored; for a duplicate, the copy stored first (its cursor and fields)."""
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Start:
    """Where a subscription begins: `Start.now()`, `Start.oldest()`, `Start.after(cursor)` or
    `Start.at(unix_time)`."""

    kind: Literal["now", "oldest", "after", "time"]
    cursor: str | None = None
    position: CursorPosition | None = field(default=None, compare=False)
    time: float | None = None
    """Unix time of `Start.at`: the first event delivered is the first accepted at or after it."""

    def __post_init__(self) -> None:
        if self.kind not in ("now", "oldest", "after", "time"):
            raise ValueError(f"unknown start kind: {self.kind!r}")
        if (self.kind == "time") != (self.time is not None):
            raise ValueError("Start.at, and only it, takes a time")
        if self.kind == "after":
            if self.cursor is None:
                raise ValueError("Start.after needs a cursor")
            object.__setattr__(self, "position", decode_cursor(self.cursor))
        elif self.cursor is not None:
            raise ValueError(f"Start.{self.kind} takes no cursor")

    @classmethod
    def now(cls) -> Start:
        """Only events appended after the subscription was opened."""
        return cls("now")

    @classmethod
    def oldest(cls) -> Start:
        """Every retained event, then new ones."""
        return cls("oldest")

    @classmethod
    def after(cls, cursor: str) -> Start:
        """Every event appended after the one `cursor` names; raises `InvalidCursor` for garbage."""
        return cls("after", cursor)

    @classmethod
    def at(cls, unix_time: float) -> Start:
        """Every retained event accepted at or after `unix_time` (by its `received_at`), then new ones."""
        return cls("time", time=float(unix_time))


@dataclass(frozen=True, slots=True)
class EventFilter:
    """A set of event type patterns: exact types (`call.hangup`) and prefixes ending in `.` (`call.`).

    No patterns means every event. Patterns are normalised: duplicates and patterns covered by a shorter
    prefix are dropped, which also keeps them acceptable as non-overlapping NATS subject filters.
    """

    exact: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    @classmethod
    def of(cls, event_types: Sequence[str] = ()) -> EventFilter:
        """Build a filter from user patterns; raises `ValueError` for a malformed pattern."""
        if isinstance(event_types, str | bytes):
            raise TypeError("event_types must be a sequence of strings, not a single string")
        exact: set[str] = set()
        prefixes: set[str] = set()
        for pattern in event_types:
            if isinstance(pattern, str) and pattern.endswith("."):
                if not is_valid_event_type(pattern[:-1]):
                    raise ValueError(f"invalid event type prefix: {pattern!r}")
                prefixes.add(pattern)
            elif is_valid_event_type(pattern):
                exact.add(pattern)
            else:
                raise ValueError(f"invalid event type filter: {pattern!r}")
        kept = sorted(p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes))
        covered = {t for t in exact if any(t.startswith(p) for p in kept)}
        return cls(frozenset(exact - covered) or _EMPTY, tuple(kept))

    @property
    def matches_all(self) -> bool:
        """True when the filter lets every event through."""
        return not self.exact and not self.prefixes

    def matches(self, event_type: str) -> bool:
        """True if an event of this type passes the filter."""
        if self.matches_all or event_type in self.exact:
            return True
        return any(event_type.startswith(p) for p in self.prefixes)

    def patterns(self) -> list[str]:
        """The normalised patterns, exact types first, each list sorted."""
        return sorted(self.exact) + list(self.prefixes)


def type_prefixes(event_type: str) -> list[str]:
    """Every prefix pattern that matches `event_type`: `a.b.c` → `["a.", "a.b."]`."""
    parts = event_type.split(".")
    return [".".join(parts[:i]) + "." for i in range(1, len(parts))]


class Subscription(ABC):
    """A reader of the log from a start point, optionally filtered by event type and correlation ids.

    Iterate with `async for` (or call `next`). Each matching event appended after the start point arrives
    exactly once, in append order. Ending conditions:

    * `close()` of the subscription: iteration stops (`StopAsyncIteration`);
    * `close()` of the log: `next`/iteration raise `LogClosed`;
    * the reader fell behind the retention: `CursorExpired` naming the oldest available position;
    * the backend failed (NATS unreachable): `LogUnavailable`.

    After an error every further call raises the same error; resume with a new subscription
    from `checkpoint`. A subscription is meant for one reader: do not call `next` concurrently.
    Cancelling a pending `next` loses nothing.
    """

    @abstractmethod
    async def next(self, max_wait: float | None = None) -> StoredEvent | None:
        """The next matching event, or `None` if none arrived within `max_wait` seconds.

        With `max_wait=None` it waits until an event arrives (or the subscription ends).
        """

    @property
    @abstractmethod
    def checkpoint(self) -> str:
        """Cursor up to which this subscription has delivered every matching event.

        It advances past non-matching events too (possibly with a short lag), so heartbeats of a filtered
        stream can carry it and `Start.after(checkpoint)` resumes without gaps or repeats.
        """

    @property
    @abstractmethod
    def latest_seq(self) -> int | None:
        """The newest sequence this subscription knows the log to hold (None while the log is empty)."""

    @abstractmethod
    async def close(self) -> None:
        """Stop the subscription and release its resources; idempotent."""

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> StoredEvent:
        event = await self.next(None)
        if event is None:  # only reachable if an implementation breaks the contract of next(None)
            raise StopAsyncIteration
        return event

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class EventLog(ABC):
    """An append-only, retention-limited log of verified webhook events with cursor-based readers."""

    @abstractmethod
    async def start(self) -> None:
        """Connect / prepare storage. Call once before use."""

    @abstractmethod
    async def close(self) -> None:
        """End every subscription (they raise `LogClosed`) and release resources; idempotent."""

    @abstractmethod
    async def append(
        self, raw: bytes, event_id: str, event_type: str, attempt: int = 1, ids: EventIds | None = None
    ) -> AppendResult:
        """Store one event durably, or report the earlier copy if `event_id` was already stored.

        `ids` are the event's correlation ids (the caller has usually parsed the body already); None reads
        them from `raw`. Returns only once the event is stored; raises `LogUnavailable` when that cannot be
        confirmed, `EventTooLarge` when the backend can never store it, and `ValueError` for malformed
        arguments (see `validate_append`).
        """

    @abstractmethod
    async def bounds(self) -> tuple[int | None, int | None]:
        """`(oldest retained seq, latest appended seq)`; `None` for no retained / never appended."""

    @abstractmethod
    async def subscribe(
        self, start: Start, event_types: Sequence[str] = (), ids: IdFilter | None = None
    ) -> Subscription:
        """Open a reader at `start`, filtered to `event_types` (exact types or prefixes ending in `.`) and
        to the correlation ids of `ids`.

        Raises `CursorExpired` if `start` lies before the retention, `InvalidCursor` for a cursor ahead of
        the log, `ValueError` for a malformed filter, `LogUnavailable`/`LogClosed` if the log cannot serve.
        """

    @property
    @abstractmethod
    def epoch(self) -> int:
        """Identifies this incarnation of the log; embedded in its cursors."""

    def cursor(self, seq: int) -> str:
        """The cursor of position `seq` in this log."""
        return encode_cursor(seq, self.epoch)

    def on_availability(self, callback: Callable[[bool], None]) -> None:
        """Have `callback(available)` called whenever the log loses or regains its storage.

        A log in the process (the memory log) is always available, and never calls it.
        """
        return

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
