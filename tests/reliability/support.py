"""Shared pieces of the reliability suite: the secret scanner, the figures of a run and log capture."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import re
import threading
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.rpc import status_pb2

from tests.support.logs import captured_logs

FIGURES_PATH = Path(__file__).resolve().parents[2] / "build" / "reliability" / "figures.json"

_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_MIN_FRAGMENT = 12
"""Shortest base64 fragment of a secret that counts as a leak (shorter ones match by chance)."""


def _base64_fragments(secret: bytes) -> set[str]:
    """What any base64 text containing `secret` must contain, whatever the secret's alignment.

    Prefixing 0, 1 or 2 bytes shifts the secret inside the 3-byte groups; the characters that depend
    only on the secret's own bytes are the ones between the first and the last partial group.
    """
    fragments: set[str] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + secret).decode()
        lead = (shift * 8 + 5) // 6  # characters that hold bits of the prefix
        end = (shift + len(secret)) * 8 // 6  # characters made of secret bits only end here
        core = encoded[lead:end]
        if len(core) >= _MIN_FRAGMENT:
            fragments.add(core)
            fragments.add(core.replace("+", "-").replace("/", "_"))
    return fragments


@dataclass
class Leak:
    """A secret found in a text: where, in which form, and the text around it."""

    source: str
    form: str
    excerpt: str


@dataclass
class SecretScan:
    r"""Collects every log line and error text of a test and finds secrets in them, in any encoding.

    Forms looked for: the secret as written, inside JSON `\\u` escapes, percent-encoded, base64 (standard
    and URL-safe, at every alignment) and hex.
    """

    secrets: set[str] = field(default_factory=set)
    texts: list[tuple[str, str]] = field(default_factory=list)
    lines: int = 0
    size: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_secret(self, secret: str | None) -> None:
        """Look for `secret` too."""
        if secret:
            self.secrets.add(secret)

    def add(self, source: str, text: str | bytes) -> None:
        """Scan `text` (a log, an error message, a response body) later."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        with self._lock:
            self.texts.append((source, text))
            self.lines += text.count("\n") + 1
            self.size += len(text.encode("utf-8", "replace"))

    def add_rpc_error(self, source: str, error: grpc.aio.AioRpcError | grpc.RpcError) -> None:
        """Scan what a failed RPC told its caller: code, message and every trailer, details decoded."""
        parts = [str(error.code()), str(error.details())]
        for key, value in error.trailing_metadata() or ():
            if key == "grpc-status-details-bin" and isinstance(value, bytes):
                status = status_pb2.Status.FromString(value)
                parts.append(str(status))
            else:
                parts.append(f"{key}={value!r}")
        self.add(source, "\n".join(parts))

    def _forms(self) -> list[tuple[str, str]]:
        forms: list[tuple[str, str]] = []
        for secret in self.secrets:
            raw = secret.encode()
            forms.append(("plain", secret))
            forms.append(("percent", urllib.parse.quote(secret, safe="")))
            forms.append(("hex", raw.hex()))
            forms.extend(("base64", fragment) for fragment in _base64_fragments(raw))
        return [(name, text) for name, text in forms if text]

    def leaks(self) -> list[Leak]:
        """Every occurrence of a secret in the collected texts (none is the goal)."""
        found: list[Leak] = []
        forms = self._forms()
        for source, text in self.texts:
            unescaped = _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
            decoded = urllib.parse.unquote(unescaped)
            for candidate in {text, unescaped, decoded}:
                for name, needle in forms:
                    at = candidate.find(needle)
                    if at >= 0:
                        excerpt = candidate[max(0, at - 60) : at + len(needle) + 60]
                        found.append(Leak(source, name, excerpt))
        return found


class Figures:
    """The figures of one run of the suite, by test: written to `build/reliability/figures.json`."""

    def __init__(self) -> None:
        self.by_test: dict[str, dict[str, Any]] = {}

    def record(self, test: str, **values: Any) -> None:
        """Add figures of `test` (later values of the same name replace earlier ones)."""
        self.by_test.setdefault(test, {}).update(values)

    def write(self) -> None:
        """Write the figures as JSON (merged into the file, so a partial run keeps the other tests')."""
        FIGURES_PATH.parent.mkdir(parents=True, exist_ok=True)
        previous: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            previous = json.loads(FIGURES_PATH.read_text())
        FIGURES_PATH.write_text(json.dumps({**previous, **self.by_test}, indent=2, sort_keys=True) + "\n")


FIGURES = Figures()


@contextlib.contextmanager
def captured_service_logs(scan: SecretScan, secrets: Iterable[str]) -> Iterator[io.StringIO]:
    """Log as `voicesvc serve` does (JSON, debug level, `secrets` redacted) into a buffer the scan reads."""
    with captured_logs(logging.DEBUG, secrets) as buffer:
        try:
            yield buffer
        finally:
            scan.add("service log", buffer.getvalue())


def sandbox_api_key(log_text: str) -> str | None:
    """The API key of the sandbox a `voicesvc serve` process embeds (asked from its admin API)."""
    import urllib.request

    for line in log_text.splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if (
                isinstance(record, dict)
                and record.get("event") == "voicesvc_started"
                and record.get("sandbox")
            ):
                base = str(record["upstream"]).removesuffix("/v2")
                with urllib.request.urlopen(base + "/_sandbox/info", timeout=5) as response:
                    return str(json.loads(response.read())["data"]["api_key"])
    return None


def rss_bytes(pid: int) -> int:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")
