"""Plain (metric, value, unit) rows for cases that report single figures rather than a comparison.

`latencies()` measures one call sequentially and then with `CONCURRENCY` callers; `rows()` turns that into
rows; `section()` makes a report section of any rows.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.report import Section

__all__ = ["API_KEY", "CONCURRENCY", "ROOT", "Row", "latencies", "rows", "section"]

Row = tuple[str, str, str]
ROOT = Path(__file__).resolve().parents[1]
API_KEY = "KEY_bench_0123456789"
SEQUENTIAL = 500
CONCURRENCY = 32
CONCURRENT_TOTAL = 3000


async def latencies(call: Callable[[], Awaitable[object]]) -> tuple[list[float], float]:
    """Sequential latencies (ms, sorted) and the rate with `CONCURRENCY` callers (per second)."""
    for _ in range(50):  # warm up connections and caches
        await call()
    measured = []
    for _ in range(SEQUENTIAL):
        t0 = time.perf_counter()
        await call()
        measured.append((time.perf_counter() - t0) * 1000)
    measured.sort()
    sem = asyncio.Semaphore(CONCURRENCY)

    async def one() -> None:
        async with sem:
            await call()

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(CONCURRENT_TOTAL)))
    return measured, CONCURRENT_TOTAL / (time.perf_counter() - t0)


def rows(label: str, measured: list[float], rate: float) -> list[Row]:
    """p50 and p99 of the sequential latencies, and the concurrent rate."""
    return [
        (f"{label}, p50 (sequential)", f"{statistics.median(measured):.2f}", "ms"),
        (f"{label}, p99 (sequential)", f"{measured[int(len(measured) * 0.99)]:.2f}", "ms"),
        (f"{label}, {CONCURRENCY} concurrent callers", f"{rate:.0f}", "calls/s"),
    ]


def section(title: str, figures: list[Row]) -> Section:
    """A report section of (metric, value, unit) rows."""
    return Section(title, ["metric", "value", "unit"], [list(row) for row in figures])
