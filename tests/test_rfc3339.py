"""Date-times read by the fast path are the instants protobuf's own parser reads."""

from __future__ import annotations

import pytest
from google.protobuf import timestamp_pb2

from voicesvc import rfc3339
from voicesvc.calls.reducer import _nanos

SPELLINGS = [
    "2024-01-01T00:00:00Z",
    "2024-01-01T00:00:00.000000Z",
    "2024-02-29T23:59:59.999999Z",
    "2024-06-30T12:34:56.5Z",
    "2024-06-30T12:34:56.123+02:00",
    "2024-06-30T00:10:00.000001-05:30",
    "1969-12-31T23:59:59.25Z",
]


def protobuf_reads(value: str) -> tuple[int, int]:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromJsonString(value)
    return stamp.seconds, stamp.nanos


@pytest.mark.parametrize("value", SPELLINGS)
def test_the_common_spelling_is_the_instant_protobuf_reads(value: str) -> None:
    assert rfc3339.seconds_and_nanos(value) == protobuf_reads(value)
    seconds, nanos = protobuf_reads(value)
    assert _nanos(value) == seconds * 1_000_000_000 + nanos


@pytest.mark.parametrize(
    "value",
    ["2024-01-01T00:00:00.123456789Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00", "2024-13-01T00:00:00Z"],
)
def test_other_spellings_are_left_to_the_general_parser(value: str) -> None:
    assert rfc3339.seconds_and_nanos(value) is None


def test_nanosecond_precision_still_reaches_the_projection() -> None:
    assert _nanos("2024-01-01T00:00:00.123456789Z") == 1704067200_123456789
