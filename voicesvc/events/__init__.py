"""The event log: verified webhook events, stored in order and read through resumable subscriptions."""

from voicesvc.events.log import (
    AppendResult,
    CursorExpired,
    EventFilter,
    EventLog,
    InvalidCursor,
    LogClosed,
    LogUnavailable,
    Start,
    StoredEvent,
    Subscription,
    decode_cursor,
    encode_cursor,
)
from voicesvc.events.memory import MemoryEventLog

__all__ = [
    "AppendResult",
    "CursorExpired",
    "EventFilter",
    "EventLog",
    "InvalidCursor",
    "LogClosed",
    "LogUnavailable",
    "MemoryEventLog",
    "Start",
    "StoredEvent",
    "Subscription",
    "decode_cursor",
    "encode_cursor",
]
