"""Run every benchmark and print one table: `python -m bench`."""

from __future__ import annotations

import asyncio
import platform
import sys

from bench import calls, rpc

Row = tuple[str, str, str]


def _table(rows: list[Row]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    line = "+".join("-" * (w + 2) for w in widths)
    out = [line]
    for i, row in enumerate(rows):
        out.append(
            "|".join(
                f" {cell:<{widths[j]}} " if j != 1 else f" {cell:>{widths[j]}} " for j, cell in enumerate(row)
            )
        )
        if i == 0:
            out.append(line)
    out.append(line)
    return "\n".join(out)


async def _main() -> None:
    rows: list[Row] = [("benchmark", "value", "unit")]
    rows += await rpc.run()
    rows += await calls.run()
    try:
        from bench import events
    except ImportError:
        pass
    else:
        rows += await events.run()
    from bench import fanout

    rows += await fanout.run()
    try:
        from bench import subscriptions
    except ImportError:
        pass
    else:
        rows += await subscriptions.run()
    print(f"voicesvc benchmarks — Python {platform.python_version()}, {platform.machine()}, loopback")
    print(_table(rows))


if __name__ == "__main__":
    asyncio.run(_main())
    sys.exit(0)
