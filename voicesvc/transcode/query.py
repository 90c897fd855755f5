"""deepObject query strings: `{"filter": {"occurred_at": {"gte": X}}}` ⇄ `filter[occurred_at][gte]=X`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def flatten(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Nested JSON → (key, value) pairs in document order; arrays repeat their key."""
    out: list[tuple[str, str]] = []

    def walk(key: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{key}[{k}]", v)
        elif isinstance(value, list):
            for v in value:
                walk(key, v)
        elif isinstance(value, bool):
            out.append((key, "true" if value else "false"))
        else:
            out.append((key, str(value)))

    for k, v in data.items():
        walk(k, v)
    return out


class QueryError(ValueError):
    """A query key that is not a well-formed deepObject key."""


def nest(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """(key, value) pairs → nested JSON; a key given twice becomes a list."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        parts = _split(key)
        node = out
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise QueryError(f"query key {key!r} conflicts with another key")
            node = child
        last = parts[-1]
        if last in node:
            existing = node[last]
            node[last] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            node[last] = value
    return out


def _split(key: str) -> list[str]:
    head, sep, rest = key.partition("[")
    parts = [head]
    while sep:
        inner, close, rest = rest.partition("]")
        if not close:
            raise QueryError(f"query key {key!r} has an unclosed bracket")
        parts.append(inner)
        if not rest:
            break
        if not rest.startswith("["):
            raise QueryError(f"query key {key!r} is malformed")
        rest = rest[1:]
    if not all(parts):
        raise QueryError(f"query key {key!r} has an empty part")
    return parts
