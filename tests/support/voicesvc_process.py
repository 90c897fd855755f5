"""Run `voicesvc serve` as a child process on free loopback ports, against its embedded sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


@dataclass
class ServerProcess:
    """A running `voicesvc serve`: where to reach it and its combined log."""

    target: str
    http_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICESVC_", "TELNYX_"))}
    env.update(
        {
            "VOICESVC_GRPC_LISTEN": "127.0.0.1:0",
            "VOICESVC_HTTP_LISTEN": "127.0.0.1:0",
            "VOICESVC_LOG_LEVEL": "info",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def _started_line(log_path: Path) -> dict[str, object] | None:
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("event") == "voicesvc_started":
            return record
    return None


def _serving(target: str, token: str | None) -> bool:
    metadata = (("authorization", f"Bearer {token}"),) if token else None
    with grpc.insecure_channel(target) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=2.0, metadata=metadata
            )
        except grpc.RpcError:
            return False
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def start_server(env: Mapping[str, str] | None = None, token: str | None = None) -> ServerProcess:
    """Start the server (no TELNYX_API_KEY: it embeds the sandbox); wait until gRPC health says SERVING."""
    fd, name = tempfile.mkstemp(prefix="voicesvc-", suffix=".log")
    log_path = Path(name)
    with os.fdopen(fd, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "voicesvc.cli", "serve"],
            cwd=ROOT,
            env=_clean_env(env or {}),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + START_TIMEOUT
    server: ServerProcess | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        record = _started_line(log_path)
        if record is not None and server is None:
            server = ServerProcess(str(record["grpc"]), str(record["http"]), process, log_path)
        if server is not None and _serving(server.target, token):
            return server
        time.sleep(0.05)
    tail = log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
    stop_process(process)
    raise RuntimeError(f"voicesvc serve did not become ready (exit code {process.poll()}):\n{tail}")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it does not exit."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def stop_server(server: ServerProcess) -> None:
    """Stop the server and remove its log file."""
    stop_process(server.process)
    server.log_path.unlink(missing_ok=True)


@contextmanager
def running_server(env: Mapping[str, str] | None = None, token: str | None = None) -> Iterator[ServerProcess]:
    """A server started on entry of the `with` block and stopped on exit."""
    server = start_server(env, token)
    try:
        yield server
    finally:
        stop_server(server)
