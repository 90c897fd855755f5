"""Parsing of Telnyx's error envelope ``{"errors": [{code, title, detail, source, meta}]}``."""

from __future__ import annotations

import json
from typing import Any

MAX_DETAIL_CHARS = 500


def parse_error_body(status: int, reason: str, body: bytes) -> list[dict[str, Any]]:
    """Extract Telnyx's error objects from a non-2xx response body.

    Anything that is not the documented envelope (HTML from a proxy, plain text, an empty body, JSON of
    another shape) becomes one synthetic error whose ``detail`` is the body text, truncated.
    """
    text = body.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(text) if text.strip() else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("errors"), list):
        errors = [_normalise(e) for e in parsed["errors"] if isinstance(e, dict)]
        if errors:
            return errors
    synthetic: dict[str, Any] = {"title": reason.strip() or f"HTTP {status}"}
    stripped = text.strip()
    if stripped:
        synthetic["detail"] = _truncate(stripped)
    return [synthetic]


def _normalise(error: dict[str, Any]) -> dict[str, Any]:
    """Coerce the fields later code relies on to strings, keeping everything else untouched."""
    out = dict(error)
    for key in ("code", "title", "detail"):
        value = out.get(key)
        if value is not None and not isinstance(value, str):
            out[key] = json.dumps(value) if isinstance(value, dict | list) else str(value)
    if not isinstance(out.get("source"), dict):
        out.pop("source", None)
    return out


def _truncate(text: str) -> str:
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 1] + "…"
