"""Which JSON an event can carry unchanged to every subscriber.

Events travel as protobuf: `Event.raw` is a `google.protobuf.Struct`, which holds every number as a double,
every string as UTF-8, and which gRPC libraries refuse to parse past about 30 levels of JSON nesting. A
webhook body outside those bounds could be stored but never delivered faithfully, so ingress refuses it
and the stream leaves such a body out of the events it still has.

Every webhook passes through here, so the common case is cheap: the objects and arrays are walked for the
depth only when the text holds more opening brackets than `MAX_DEPTH`; ingress checks each number as the
parser reads it (`parse_float`, `parse_int`), and the strings are looked at only when the raw text holds a
surrogate escape. Bodies read back from the log are checked by their text: the numbers are looked at only
when it holds a number that might not fit a double.
"""

from __future__ import annotations

import math
import re
import sys
from typing import Any

MAX_DEPTH = 20
"""Deepest nesting of objects and arrays accepted; Telnyx's envelopes nest a handful of levels."""

MAX_DELIVERED_BYTES = 3_670_016
"""Largest serialized stream message (3.5 MiB) delivered in full: half a MiB below the 4 MiB that gRPC
clients receive by default. Ingress refuses events whose message would be larger (its bound can only be set
lower), and the stream delivers a larger stored event without its body."""

_MAX_DOUBLE = int(sys.float_info.max)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# More than 308 digits, or a three-digit exponent: the only spellings of a number beyond a double.
_LONG_DIGITS = re.compile(rb"[0-9]{309}")
_LONG_EXPONENT = re.compile(rb"[eE][+-]?[0-9]{3}")


NUMBER_PROBLEM = "a number is beyond the range of a double"


def parse_float(text: str) -> float:
    """`json.loads`'s `parse_float` that refuses a number beyond a double (`ValueError`, `NUMBER_PROBLEM`)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(NUMBER_PROBLEM)
    return value


def parse_int(text: str) -> int:
    """`json.loads`'s `parse_int` that refuses a number beyond a double (`ValueError`, `NUMBER_PROBLEM`)."""
    value = int(text)
    if not -_MAX_DOUBLE <= value <= _MAX_DOUBLE:
        raise ValueError(NUMBER_PROBLEM)
    return value


def problem_in(raw: bytes, parsed: Any, *, numbers_checked: bool = False) -> str | None:
    """Why the JSON text `raw` (already parsed as `parsed`) cannot be relayed unchanged, or None.

    `numbers_checked`: `raw` was parsed with `parse_float` and `parse_int`, so every number is known to fit.
    """
    # Nesting d levels deep takes d opening brackets at least: with fewer in the whole text, no walk needed.
    if raw.count(b"{") + raw.count(b"[") > MAX_DEPTH:
        deep = _too_deep(parsed)
        if deep is not None:
            return deep
    if (b"\\u" in raw and _SURROGATE_ESCAPE.search(raw)) or (
        not numbers_checked and (_LONG_EXPONENT.search(raw) or (len(raw) > 308 and _LONG_DIGITS.search(raw)))
    ):
        return _value_problem(parsed)
    return None


def _too_deep(value: Any) -> str | None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > MAX_DEPTH:
            return f"objects and arrays are nested deeper than {MAX_DEPTH} levels"
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return None


def _value_problem(value: Any) -> str | None:
    """The slow check of every string and number (the nesting is known to be shallow by now)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "a string holds an unpaired surrogate escape (\\ud800-\\udfff)"
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if -_MAX_DOUBLE <= value <= _MAX_DOUBLE else NUMBER_PROBLEM
    if isinstance(value, float):
        return None if math.isfinite(value) else NUMBER_PROBLEM
    if isinstance(value, dict):
        for key, item in value.items():
            found = _value_problem(key) or _value_problem(item)
            if found:
                return found
    elif isinstance(value, list):
        for item in value:
            found = _value_problem(item)
            if found:
                return found
    return None
