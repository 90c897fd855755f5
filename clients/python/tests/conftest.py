"""Fixtures of the client suite: a live `voicesvc serve` (embedded sandbox) started as a subprocess.

The server comes from another environment: `VOICESVC_SERVER_PYTHON` names a Python with the server
distribution installed (the repository's `.venv`), so this suite runs in a venv holding only the client.
Without it the suite's own interpreter is used (the repository's venv has both).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TOKEN = "client-suite-token"
START_TIMEOUT = 30.0


@dataclass
class Server:
    """A running `voicesvc serve`: its gRPC target and its sandbox's admin API."""

    target: str
    sandbox_url: str  # http://host:port, the admin API under /_sandbox
    log_path: Path

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """Call the sandbox's admin API; the `data` of its answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.sandbox_url}/_sandbox{path}",
            data=data,
            method=method,
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.loads(reply.read() or b"{}").get("data")


def _records(log_path: Path) -> Iterator[dict[str, Any]]:
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            yield record


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    python = os.environ.get("VOICESVC_SERVER_PYTHON", sys.executable)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICESVC_", "TELNYX_"))}
    env.update(
        {
            "VOICESVC_GRPC_LISTEN": "127.0.0.1:0",
            "VOICESVC_HTTP_LISTEN": "127.0.0.1:0",
            "VOICESVC_SANDBOX_LISTEN": "127.0.0.1:0",
            "VOICESVC_AUTH_TOKENS": TOKEN,
            # voicesvc's own retries off: a dropped connection reaches the client as UNAVAILABLE.
            "VOICESVC_RETRY_MAX_ATTEMPTS": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    fd, name = tempfile.mkstemp(prefix="voicesvc-client-suite-", suffix=".log")
    log_path = Path(name)
    with os.fdopen(fd, "wb") as log:
        process = subprocess.Popen(
            [python, "-m", "voicesvc.cli", "serve"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        target = sandbox = ""
        while time.monotonic() < deadline and not (target and sandbox) and process.poll() is None:
            for record in _records(log_path):
                if record.get("event") == "voicesvc_started":
                    target = str(record["grpc"])
                elif record.get("event") == "embedded_sandbox":
                    sandbox = str(record["base_url"]).removesuffix("/v2")
            time.sleep(0.05)
        if not (target and sandbox):
            raise RuntimeError(f"voicesvc serve did not start:\n{log_path.read_text()[-3000:]}")
        yield Server(target, sandbox, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log_path.unlink(missing_ok=True)


@pytest.fixture
def sandbox(server: Server) -> Iterator[Server]:
    """The server, with no fault rules before and after the test."""
    server.admin("DELETE", "/faults")
    yield server
    server.admin("DELETE", "/faults")
