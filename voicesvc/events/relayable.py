"""Which JSON an event can carry unchanged to every subscriber.

Events travel as protobuf: `Event.raw` is a `google.protobuf.Struct`, which holds every number as a double,
every string as UTF-8, and which gRPC libraries refuse to parse past about 30 levels of JSON nesting. A
webhook body outside those bounds could be stored but never delivered faithfully, so ingress refuses it
and the stream leaves such a body out of the events it still has.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 20
"""Deepest nesting of objects and arrays accepted; Telnyx's envelopes nest a handful of levels."""


def problem(value: Any, depth: int = 1) -> str | None:
    """Why parsed JSON cannot be relayed unchanged (unpaired surrogates, nesting past `MAX_DEPTH`), or
    None. Numbers are bounded while parsing (see `voicesvc.webhooks.verify.parse_json_object`)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "a string holds an unpaired surrogate escape (\\ud800-\\udfff)"
        return None
    if not isinstance(value, dict | list):
        return None
    if depth > MAX_DEPTH:
        return f"objects and arrays are nested deeper than {MAX_DEPTH} levels"
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        found = (problem(key) if isinstance(key, str) else None) or problem(item, depth + 1)
        if found:
            return found
    return None
