"""Identifiers and timestamps in the formats Telnyx uses."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    """ISO 8601 with microseconds and a `Z` suffix, e.g. `2024-05-01T10:00:00.123456Z`."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 timestamp (a date alone means its midnight UTC); raises ValueError."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def call_control_id() -> str:
    """A `v3:` call control id; URL-safe so it can sit in a path segment unescaped."""
    raw = base64.urlsafe_b64encode(secrets.token_bytes(30)).decode().rstrip("=")
    return f"v3:{raw}"


def uuid_str() -> str:
    """A random UUID string (leg, session, event, recording ids)."""
    return str(uuid.uuid4())


def numeric_id() -> str:
    """A 19-digit numeric id like Telnyx's connection and application ids."""
    return str(10**18 + secrets.randbelow(9 * 10**18))
