"""The REST layer's own concerns: Telnyx error envelopes and the retry policy's arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from voicesvc.rest import RetryMode, parse_retry_after, retry_mode_for
from voicesvc.rest.envelope import parse_error_body

# --- error envelope parsing --------------------------------------------------------------------------------


def test_envelope_is_parsed() -> None:
    body = b'{"errors":[{"code":10015,"title":"Invalid","detail":"bad","source":{"pointer":"/to"}}]}'
    assert parse_error_body(422, "Unprocessable Entity", body) == [
        {"code": "10015", "title": "Invalid", "detail": "bad", "source": {"pointer": "/to"}}
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", [{"title": "Bad Gateway"}]),
        (b"upstream connect error", [{"title": "Bad Gateway", "detail": "upstream connect error"}]),
        (b'{"message": "nope"}', [{"title": "Bad Gateway", "detail": '{"message": "nope"}'}]),
        (b'{"errors": []}', [{"title": "Bad Gateway", "detail": '{"errors": []}'}]),
    ],
)
def test_unexpected_bodies_become_one_error(body: bytes, expected: list[dict[str, str]]) -> None:
    assert parse_error_body(502, "Bad Gateway", body) == expected


def test_long_text_body_is_truncated() -> None:
    [error] = parse_error_body(500, "", b"y" * 10_000)
    assert error["title"] == "HTTP 500"
    assert 0 < len(error["detail"]) <= 500


# --- retry policy ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        ("0.25", 0.25),
        ("Wed, 01 Jan 2025 00:00:30 GMT", 30.0),
        ("Tue, 31 Dec 2024 23:00:00 GMT", 0.0),
        ("-1", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == expected


@pytest.mark.parametrize(
    ("method", "dedup", "mode"),
    [
        ("GET", False, RetryMode.IDEMPOTENT),
        ("put", False, RetryMode.IDEMPOTENT),
        ("DELETE", False, RetryMode.UNSAFE),
        ("POST", True, RetryMode.IDEMPOTENT),
        ("POST", False, RetryMode.UNSAFE),
        ("PATCH", False, RetryMode.IDEMPOTENT),
    ],
)
def test_retry_mode_for(method: str, dedup: bool, mode: RetryMode) -> None:
    assert retry_mode_for(method, has_dedup_key=dedup) is mode
