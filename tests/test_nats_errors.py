"""The NATS event log's single mapping from client failures to the log's own errors."""

from __future__ import annotations

import asyncio

import nats.errors
import nats.js.errors
import pytest

from voicesvc.events.log import CursorExpired, LogClosed, LogUnavailable
from voicesvc.events.nats.errors import mapped_errors


@pytest.mark.parametrize(
    "error",
    [
        nats.errors.TimeoutError(),
        nats.errors.ConnectionClosedError(),
        nats.errors.NoServersError(),
        nats.js.errors.NotFoundError(),
        TimeoutError("slow"),
        OSError("refused"),
    ],
)
def test_client_failures_become_log_unavailable(error: Exception) -> None:
    with pytest.raises(LogUnavailable) as raised, mapped_errors("cannot read stream state"):
        raise error
    assert str(raised.value) == f"cannot read stream state: {error!r}"
    assert raised.value.__cause__ is error
    assert type(raised.value) is LogUnavailable


@pytest.mark.parametrize(
    "error", [LogUnavailable("not connected"), LogClosed("closed"), CursorExpired("cursor")]
)
def test_the_logs_own_errors_pass_unchanged(error: Exception) -> None:
    with pytest.raises(type(error)) as raised, mapped_errors("event not stored"):
        raise error
    assert raised.value is error


def test_cancellation_passes_unchanged() -> None:
    with pytest.raises(asyncio.CancelledError), mapped_errors("event not stored"):
        raise asyncio.CancelledError


async def test_it_wraps_awaits_and_is_silent_without_error() -> None:
    async def fails() -> None:
        await asyncio.sleep(0)
        raise nats.errors.ConnectionClosedError

    with mapped_errors("fine"):
        await asyncio.sleep(0)
    with (
        pytest.raises(LogUnavailable, match=r"^cannot request events: "),
        mapped_errors("cannot request events"),
    ):
        await fails()
