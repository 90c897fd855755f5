"""The measuring machinery every case shares: CPU from `/proc`, percentiles, a load driver and ABAB rounds.

A comparison is a list of `Way`s: each is one way of doing the same thing (calling GetCallStatus through the
raw aiohttp client, the SDK, voicesvc …), with the process whose CPU it is charged to. `interleave()` runs
every way once per round, round after round, so noise on this shared machine hits all of them alike, and
pools each way's samples over the rounds.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CpuClock",
    "Sample",
    "Way",
    "WayResult",
    "drive",
    "interleave",
    "percentile",
    "rss_bytes",
]

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of every thread of `pid` so far (fields 14 and 15 of `/proc/<pid>/stat`)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) is in parentheses and may hold spaces: split after its closing one.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S


def rss_bytes(pid: int) -> int:
    """Resident set size of `pid` (`VmRSS` of `/proc/<pid>/status`)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass(frozen=True)
class CpuClock:
    """Reads the CPU time of one process (the server a way is charged to, or this load generator)."""

    pid: int

    @classmethod
    def self(cls) -> CpuClock:
        """The clock of this process."""
        return cls(os.getpid())

    def read(self) -> float:
        """CPU seconds used by the process so far."""
        return _cpu_seconds(self.pid)


def percentile(values: Sequence[float], q: float) -> float:
    """The `q` quantile (0..1) of `values`, nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass
class Sample:
    """What one run of a way at one concurrency measured."""

    latencies_s: list[float] = field(default_factory=list)
    done: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0

    def add(self, other: Sample) -> None:
        """Pool `other` into this sample."""
        self.latencies_s += other.latencies_s
        self.done += other.done
        self.wall_s += other.wall_s
        self.cpu_s += other.cpu_s

    @property
    def rate(self) -> float:
        """Operations per second."""
        return self.done / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_per_op_ms(self) -> float:
        """CPU milliseconds of the charged process per operation."""
        return self.cpu_s / self.done * 1000 if self.done else float("nan")

    def p(self, q: float) -> float:
        """Latency quantile in milliseconds."""
        return percentile(self.latencies_s, q) * 1000


async def drive(
    op: Callable[[int], Awaitable[object]],
    *,
    concurrency: int,
    clock: CpuClock,
    duration_s: float | None = None,
    count: int | None = None,
) -> Sample:
    """Run `op(i)` from `concurrency` workers until `duration_s` has passed or `count` ops were started.

    Each op's latency is recorded; the CPU that `clock`'s process spent meanwhile is charged to the run.
    """
    if duration_s is None and count is None:
        raise ValueError("drive needs a duration or a count")
    sample = Sample()
    started = time.perf_counter()
    deadline = started + duration_s if duration_s is not None else float("inf")
    limit = count if count is not None else 1 << 62
    next_index = 0
    latencies = sample.latencies_s

    async def worker() -> None:
        nonlocal next_index
        perf = time.perf_counter
        while next_index < limit:
            t0 = perf()
            if t0 >= deadline:
                return
            index = next_index
            next_index += 1
            await op(index)
            latencies.append(perf() - t0)

    cpu0 = clock.read()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    sample.wall_s = time.perf_counter() - started
    sample.cpu_s = clock.read() - cpu0
    sample.done = len(latencies)
    return sample


@dataclass
class Way:
    """One way of doing the compared thing.

    `run(concurrency)` performs one measured run and returns its sample; `warm()` runs once before the
    first round (connections, caches, JIT-free but lazy imports).
    """

    name: str
    run: Callable[[int], Awaitable[Sample]]
    warm: Callable[[], Awaitable[object]] | None = None


@dataclass
class WayResult:
    """A way's samples pooled over every round, per concurrency."""

    name: str
    by_concurrency: dict[int, Sample] = field(default_factory=dict)


async def interleave(ways: Sequence[Way], concurrencies: Sequence[int], rounds: int) -> dict[str, WayResult]:
    """ABAB rounds: in every round each way runs once at each concurrency, in the same order."""
    results = {way.name: WayResult(way.name) for way in ways}
    for way in ways:
        if way.warm is not None:
            await way.warm()
    for _ in range(rounds):
        for concurrency in concurrencies:
            for way in ways:
                sample = await way.run(concurrency)
                results[way.name].by_concurrency.setdefault(concurrency, Sample()).add(sample)
    return results
