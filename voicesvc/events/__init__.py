"""The event log: verified webhook events, stored in order and read through resumable subscriptions.

Storage only (the log contract, the memory and NATS JetStream backends, what protobuf can relay); the gRPC
stream over it is `voicesvc.server.event_stream`.
"""

from voicesvc.events.log import (
    AppendResult,
    CursorExpired,
    EventFilter,
    EventIds,
    EventLog,
    EventTooLarge,
    IdFilter,
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
    "EventIds",
    "EventLog",
    "EventTooLarge",
    "IdFilter",
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
