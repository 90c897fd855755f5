"""Fixtures shared by the suites."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.stack import Stack, start_stack


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    """A sandbox and a voicesvc in front of it on free loopback ports, with a gRPC channel to the service
    (`stack.channel`), the sandbox (`stack.sandbox`, its journal and faults) and the service's settings.
    For other settings use `start_stack(...)` directly."""
    async with start_stack() as running:
        yield running
