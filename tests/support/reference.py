"""The committed copy of the Telnyx Voice reference, and JSON documents generated from its schemas."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

REFERENCE_PATH = Path(__file__).resolve().parents[1] / "data" / "telnyx-voice-api.json"
PAGE_KEYS = ("page[number]", "page[size]")


@cache
def reference() -> dict[str, Any]:
    return json.loads(REFERENCE_PATH.read_text())


def endpoints() -> list[dict[str, Any]]:
    return reference()["endpoints"]


def endpoint_id(ep: dict[str, Any]) -> str:
    return f"{ep['method']} {ep['path']}"


def request_schema(ep: dict[str, Any]) -> dict[str, Any]:
    return ep.get("body") or ep.get("query") or {"type": "object", "properties": {}}


def response_item_schema(ep: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(schema of `data` or of one list item, is_list)."""
    if "response_item" in ep:
        return ep["response_item"], True
    props = ep["response"].get("properties", {})
    if "data" in props and len(props) == 1:
        return props["data"], False
    return ep["response"], True


def max_variants(schema: Any) -> int:
    """The largest number of variants of any union inside a schema."""
    if not isinstance(schema, dict):
        return 1
    n = len(schema.get("oneOf", [])) or 1
    subs = list(schema.get("properties", {}).values()) + schema.get("oneOf", [])
    subs += [schema[k] for k in ("items", "values") if k in schema]
    return max([n, *(max_variants(s) for s in subs)])


def sample(schema: dict[str, Any], variant: int = 0, zero: bool = False, name: str = "x") -> Any:
    """A JSON value for `schema` with every property set. Unions take variant `variant % n`;
    `zero` picks false/0/"" for scalars to prove explicit zero values survive."""
    if "oneOf" in schema:
        options = schema["oneOf"]
        return sample(options[variant % len(options)], variant, zero, name)
    if "enum" in schema:
        values = schema["enum"]
        return values[(variant + len(values) - 1) % len(values)]
    t = schema.get("type")
    if t == "object":
        return {
            k: sample(v, variant, zero, k)
            for k, v in schema.get("properties", {}).items()
            if k not in PAGE_KEYS
        }
    if t == "array":
        return [sample(schema["items"], variant, zero, name)]
    if t == "map":
        return {"key1": sample(schema["values"], variant, zero, name)}
    if t == "any":
        return {"free": ["form", 1, True]}
    if t == "string":
        return "" if zero else f"{name}-value"
    if t == "integer":
        return 0 if zero else 7
    if t == "number":
        return 0 if zero else 2.5
    if t == "boolean":
        return not zero
    raise AssertionError(f"schema without a known shape: {schema}")
