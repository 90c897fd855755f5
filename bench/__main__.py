"""`python -m bench` (`make bench`): every case in one run, one table, `RESULTS.md` and `latency.png`.

A case is an async function `(rounds) -> list[Section]` registered in `CASES` below; `--only NAME` runs
some of them, `--rounds N` sets how many interleaved rounds the comparisons run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog

from bench import calls, command, fanout, ingest, processes, report, subscriptions, translation
from bench.report import Section

Case = Callable[[int], Awaitable[list[Section]]]

CASES: dict[str, Case] = {
    "translation": translation.case,
    "command": command.case,
    "ingest": ingest.case,
    "fanout-memory": fanout.case_memory,
    "fanout-nats": fanout.case_nats,
    "calls": calls.case,
    "subscriptions": subscriptions.case,
}
"""Every benchmark case, in the order it runs and reports."""

HERE = Path(__file__).resolve().parent


def _header(seconds: float) -> str:
    import grpc
    from google.protobuf.internal import api_implementation

    return (
        f"voicesvc benchmarks: Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} cores, loopback; grpcio {grpc.__version__}, protobuf backend "
        f"{api_implementation.Type()}, uvloop {'installed' if processes.uvloop_available() else 'absent'}; "
        f"run took {seconds:.0f} s. Every server runs in its own process; the ways of each comparison are "
        "interleaved round by round."
    )


async def _run(names: list[str], rounds: int) -> list[Section]:
    sections: list[Section] = []
    for name in names:
        print(f"… {name}", flush=True)
        sections += await CASES[name](rounds)
    return sections


def main() -> None:
    """Run the cases, print the report and write `bench/RESULTS.md` and `bench/latency.png`."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "--only", action="append", choices=list(CASES), help="run only this case (repeatable)"
    )
    parser.add_argument("--rounds", type=int, default=6, help="interleaved rounds of each comparison")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md and the chart")
    args = parser.parse_args()
    # voicesvc's code running in this load generator (its REST client) logs as a service at info would:
    # structlog's default would print its debug line for every request, and charge it to this process.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    started = time.perf_counter()
    sections = asyncio.run(_run(args.only or list(CASES), args.rounds))
    header = _header(time.perf_counter() - started)
    print(report.text(sections, header))
    if not args.no_write:
        chart = HERE / "latency.png"
        drawn = report.chart(sections, chart)
        (HERE / "RESULTS.md").write_text(report.markdown(sections, header, chart.name if drawn else None))
        print(f"wrote {HERE / 'RESULTS.md'}" + (f" and {chart}" if drawn else ""))


if __name__ == "__main__":
    main()
