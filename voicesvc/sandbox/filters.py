"""Reading `filter[...]` query parameters into flat, dotted keys."""

from __future__ import annotations

import re
from collections.abc import Iterable

_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def parse_filters(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """`filter[occurred_at][gte]=v` → `{"occurred_at.gte": "v"}` (the last value wins)."""
    found: dict[str, str] = {}
    for key, value in pairs:
        if not key.startswith("filter["):
            continue
        parts = _BRACKETS.findall(key[len("filter") :])
        if parts:
            found[".".join(parts)] = value
    return found
