"""How events are laid out as JetStream messages: their subjects and headers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from voicesvc.events.log import EventFilter, StoredEvent

__all__ = [
    "HEADER_ATTEMPT",
    "HEADER_EVENT_TYPE",
    "HEADER_MSG_ID",
    "HEADER_RECEIVED_AT",
    "decode_event",
    "event_headers",
    "event_subject",
    "filter_subjects",
    "stream_subjects",
]

HEADER_MSG_ID = "Nats-Msg-Id"
HEADER_EVENT_TYPE = "Voicesvc-Event-Type"
HEADER_RECEIVED_AT = "Voicesvc-Received-At"
HEADER_ATTEMPT = "Voicesvc-Attempt"


def stream_subjects(prefix: str) -> str:
    """The subject filter covering every event under `prefix`."""
    return f"{prefix}.>"


def event_subject(prefix: str, event_type: str) -> str:
    """The subject an event of `event_type` is published to."""
    return f"{prefix}.{event_type}"


def filter_subjects(prefix: str, event_filter: EventFilter) -> list[str]:
    """Subject filters selecting exactly the events `event_filter` lets through (never overlapping)."""
    if event_filter.matches_all:
        return [stream_subjects(prefix)]
    exact = [event_subject(prefix, t) for t in sorted(event_filter.exact)]
    return exact + [f"{prefix}.{p}>" for p in event_filter.prefixes]


def event_headers(event_id: str, event_type: str, received_at: float, attempt: int) -> dict[str, str]:
    """Headers of an appended event; `Nats-Msg-Id` makes JetStream drop redeliveries of the same id."""
    return {
        HEADER_MSG_ID: event_id,
        HEADER_EVENT_TYPE: event_type,
        HEADER_RECEIVED_AT: repr(received_at),
        HEADER_ATTEMPT: str(attempt),
    }


def decode_event(
    prefix: str,
    seq: int,
    cursor: str,
    subject: str,
    headers: Mapping[str, str] | None,
    data: bytes,
    stored_at: datetime | None,
) -> StoredEvent:
    """The stored event a message holds; missing or malformed headers fall back to what the stream knows."""
    headers = headers or {}
    event_type = headers.get(HEADER_EVENT_TYPE) or subject.removeprefix(prefix + ".")
    try:
        received_at = float(headers[HEADER_RECEIVED_AT])
    except (KeyError, ValueError):
        received_at = stored_at.timestamp() if stored_at else 0.0
    try:
        attempt = max(int(headers[HEADER_ATTEMPT]), 1)
    except (KeyError, ValueError):
        attempt = 1
    event_id = headers.get(HEADER_MSG_ID) or f"seq-{seq}"
    return StoredEvent(seq, cursor, event_id, event_type, received_at, attempt, bytes(data))
