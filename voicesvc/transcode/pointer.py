"""RFC 6901 JSON pointers (`/assistant/tools/0`): escaping, parsing, building, and their renderings as the
field paths, query parameter names and dotted labels that callers read.

Pointers come from this service's own wire layer and from Telnyx's `source.pointer`; parsing is lenient
(the leading slash is optional, empty tokens are skipped) because Telnyx's pointers are not always strict.
"""

from __future__ import annotations

import re

from google.protobuf.descriptor import Descriptor, FieldDescriptor, OneofDescriptor

from voicesvc.transcode import descriptors

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def escape(token: str) -> str:
    """`token` as it appears inside a pointer (`~` → `~0`, `/` → `~1`)."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    """The key or index a pointer token stands for (the reverse of `escape`)."""
    return token.replace("~1", "/").replace("~0", "~")


def tokens(pointer: str) -> list[str]:
    """The unescaped reference tokens of `pointer`: `/to/0` → `["to", "0"]`, `/` → `[]`."""
    return [unescape(raw) for raw in pointer.split("/") if raw]


def extend(pointer: str, token: str | int) -> str:
    """`pointer` one level down, at key or index `token`: `extend("/to", 0)` → `/to/0`."""
    if isinstance(token, int):
        return f"{pointer}/{token}"
    return f"{pointer}/{escape(token)}"


def join(*parts: str | int) -> str:
    """The pointer to the path `parts`: `join("filter", "occurred_at", "gte")` → `/filter/occurred_at/gte`."""
    out = ""
    for part in parts:
        out = extend(out, part)
    return out


def field_path(pointer: str) -> str:
    """A field path read from the pointer alone: `/to/0` → `to[0]`, `/a/b` → `a.b`.

    Tokens that are not identifiers (map keys with dots or dashes) are quoted with backticks.
    """
    path = ""
    for token in tokens(pointer):
        if token.isdigit():
            path += f"[{token}]"
            continue
        name = token if _IDENTIFIER.fullmatch(token) else f"`{token}`"
        path += f".{name}" if path else name
    return path


def proto_field_path(message: Descriptor, pointer: str, exclude: tuple[str, ...] = ()) -> str:
    """A pointer of wire names into `message` (`/from`, `/assistant/tools/0`) as the proto field path a gRPC
    caller knows (`from`, `assistant.tools[0]`); map keys become `[key]`, unresolvable parts stay as given.

    `exclude` names top-level fields left out of the wire body (path parameters), so a body key that is
    also a path parameter's wire name resolves to the body field.
    """
    out = ""
    desc: Descriptor | None = message
    map_values: Descriptor | None = None
    in_map = False
    skip = frozenset(exclude)
    for part in tokens(pointer):
        if in_map:
            out += f"[{part}]"
            desc, in_map = map_values, False
            continue
        if part.isdigit():
            out += f"[{part}]"
            continue
        name = part
        target = descriptors.fields_by_wire_name(desc, skip).get(part) if desc is not None else None
        skip = frozenset()
        desc = None
        if isinstance(target, FieldDescriptor):
            name = target.name
            if descriptors.is_map(target):
                in_map = True
                map_values = descriptors.message_type(target).fields_by_name["value"].message_type
            else:
                desc = target.message_type
        elif isinstance(target, OneofDescriptor):
            name = target.name
        out += f".{name}" if out else name
    return out


def query_parameter(pointer: str) -> str:
    """A pointer as a deepObject query parameter: `/filter/occurred_at/gte` → `filter[occurred_at][gte]`."""
    parts = tokens(pointer)
    if not parts:
        return ""
    return parts[0] + "".join(f"[{p}]" for p in parts[1:])


def dotted(pointer: str) -> str:
    """The pointer as a dotted label: `/answering_machine_detection_config/total_analysis_time_millis` →
    `answering_machine_detection_config.total_analysis_time_millis`; the root is ``""``."""
    return ".".join(tokens(pointer))
