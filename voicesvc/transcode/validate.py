"""Checks made before any REST call: required fields (from `field_behavior`) and path identifiers."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, cast

from google.api import field_behavior_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from voicesvc.transcode import descriptors as d
from voicesvc.transcode.pointer import extend
from voicesvc.v1 import options_pb2

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import FieldOptions
    from google.protobuf.internal.containers import RepeatedScalarFieldContainer
    from google.protobuf.internal.extension_dict import _ExtensionFieldDescriptor

MAX_ID_LENGTH = 256
_FORBIDDEN = re.compile(r"[/?#%\\\s]")

# googleapis-common-protos' stubs type extensions as plain FieldDescriptors; say what this one extends
# and holds (a repeated `google.api.FieldBehavior`) so `Extensions[...]` type-checks.
_FIELD_BEHAVIOR = cast(
    "_ExtensionFieldDescriptor[FieldOptions, RepeatedScalarFieldContainer[field_behavior_pb2.FieldBehavior]]",
    field_behavior_pb2.field_behavior,
)


def is_required(field: FieldDescriptor) -> bool:
    """Whether the field is annotated `(google.api.field_behavior) = REQUIRED`."""
    behaviors = field.GetOptions().Extensions[_FIELD_BEHAVIOR]
    return field_behavior_pb2.REQUIRED in behaviors


def missing_required(message: Message, exclude: frozenset[str] = frozenset(), pointer: str = "") -> list[str]:
    """JSON pointers (wire names) of every required field left unset, recursively through set
    sub-messages, list items, map values and union members. A required string that is empty
    counts as missing."""
    out: list[str] = []
    desc: Descriptor = message.DESCRIPTOR  # type: ignore[assignment]  # as `d.descriptor_of`
    if desc.full_name in (d.STRUCT, d.VALUE):
        return out
    seen_oneofs: set[str] = set()
    for f in desc.fields:
        if f.name in exclude:
            continue
        oneof = f.containing_oneof
        if oneof is not None and d.is_union_oneof(oneof):
            if oneof.name in seen_oneofs:
                continue
            seen_oneofs.add(oneof.name)
            member = message.WhichOneof(oneof.name)
            at = pointer if d.shape(desc) else extend(pointer, d.oneof_wire_name(oneof))
            # A union-shaped message is nothing but its value: it must hold one, or it would be sent as null.
            # A required union field must also say something (`to` cannot be "" or an empty list); a union
            # value itself may be empty (a dynamic variable can be "").
            if member is None:
                if d.oneof_required(oneof) or d.shape(desc) == options_pb2.WIRE_SHAPE_UNION:
                    out.append(at or "/")
                continue
            if d.oneof_required(oneof) and _empty_member(message, desc.fields_by_name[member]):
                out.append(at or "/")
                continue
            mf = desc.fields_by_name[member]
            if mf.type == FieldDescriptor.TYPE_MESSAGE:
                out += missing_required(getattr(message, member), pointer=at)
            continue
        key = extend(pointer, d.wire_name(f))
        if d.is_map(f):
            vf = d.message_type(f).fields_by_name["value"]
            value = getattr(message, f.name)
            if is_required(f) and not value:
                out.append(key)
            if vf.type == FieldDescriptor.TYPE_MESSAGE:
                for k, v in value.items():
                    out += missing_required(v, pointer=extend(key, k))
            continue
        if d.is_repeated(f):
            items = getattr(message, f.name)
            if is_required(f) and not items:
                out.append(key)
            if f.type == FieldDescriptor.TYPE_MESSAGE:
                for i, item in enumerate(items):
                    out += missing_required(item, pointer=extend(key, i))
            continue
        present = message.HasField(f.name) if f.has_presence else getattr(message, f.name) != f.default_value
        if present and f.type == FieldDescriptor.TYPE_STRING and getattr(message, f.name) == "":
            present = False
        if present and f.type == FieldDescriptor.TYPE_ENUM and getattr(message, f.name) == 0:
            present = False
        if not present:
            if is_required(f):
                out.append(key)
            continue
        if f.type == FieldDescriptor.TYPE_MESSAGE:
            out += missing_required(getattr(message, f.name), pointer=key)
    return out


def _empty_member(message: Message, member: FieldDescriptor) -> bool:
    """An empty string, or an empty list wrapper: a union member that says nothing."""
    value: object = getattr(message, member.name)
    if member.type == FieldDescriptor.TYPE_STRING:
        return value == ""
    if member.type != FieldDescriptor.TYPE_MESSAGE:
        return False
    wrapper = d.message_type(member)
    return d.shape(wrapper) == options_pb2.WIRE_SHAPE_LIST and not getattr(value, wrapper.fields[0].name)


def path_id_problem(value: str) -> str | None:
    """Why `value` cannot be used as an id inside a URL path, or None when it can."""
    if not value:
        return "must not be empty"
    if len(value) > MAX_ID_LENGTH:
        return f"must be at most {MAX_ID_LENGTH} characters"
    if ".." in value or value == ".":
        return "must not be '.' or contain '..'"  # dot segments would address another path
    if _FORBIDDEN.search(value):
        return "must not contain '/', '?', '#', '%', '\\' or whitespace"
    # Printable text holds no control, format or unassigned character: only other text is looked at closely.
    if not value.isprintable() and any(unicodedata.category(ch).startswith("C") for ch in value):
        return "must not contain control characters"
    return None
