"""Child processes of a benchmark run: the bare servers, `voicesvc serve` and nats-server.

Every server runs in its own process, so the CPU it spends can be read from `/proc/<pid>/stat` apart from
the load generator's; each context manager stops its child on exit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.nats import NatsServer
from tests.support.voicesvc_process import ServerProcess, start_server, stop_process, stop_server

__all__ = ["Child", "nats_server", "server_loop", "standalone", "uvloop_available", "voicesvc"]

ROOT = Path(__file__).resolve().parents[1]


def uvloop_available() -> bool:
    """True when uvloop is installed here."""
    try:
        import uvloop  # noqa: F401 - probing an optional dependency
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class Child:
    """A running bare server: its pid and loopback port."""

    pid: int
    port: int


@contextmanager
def standalone(kind: str, *arguments: str, use_uvloop: bool = False) -> Iterator[Child]:
    """`python -m bench.standalone kind [arguments]` as a child, until the block ends."""
    command = [sys.executable, "-m", "bench.standalone", kind, *arguments]
    if use_uvloop:
        command.append("--uvloop")
    process = subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"bench.standalone {kind} exited with {process.wait()}")
        yield Child(process.pid, int(json.loads(line)["port"]))
    finally:
        stop_process(process)


@contextmanager
def voicesvc(env: Mapping[str, str]) -> Iterator[ServerProcess]:
    """`voicesvc serve` as a child with `env` (log level info, as in production), until the block ends."""
    server = start_server(env)
    try:
        yield server
    finally:
        stop_server(server)


@contextmanager
def nats_server() -> Iterator[NatsServer]:
    """A nats-server with JetStream and a throw-away store, until the block ends."""
    with (
        tempfile.TemporaryDirectory(prefix="voicesvc-bench-nats-") as store,
        NatsServer(Path(store)) as server,
    ):
        yield server


def server_loop(server: ServerProcess) -> str:
    """The event loop `voicesvc serve` named in its start-up line (asyncio unless it names another)."""
    for line in server.log_tail(200).splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("event") == "voicesvc_started":
            return str(record.get("loop", "asyncio"))
    return "asyncio"
