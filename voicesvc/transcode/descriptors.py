"""Read the contract's custom options (`voicesvc/v1/options.proto`) off descriptors, with caching."""

from __future__ import annotations

import functools
from types import ModuleType

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor, OneofDescriptor
from google.protobuf.message import Message

from voicesvc.v1 import (
    call_control_applications_pb2,
    call_control_pb2,
    call_events_pb2,
    common_pb2,
    connections_pb2,
    events_pb2,
    options_pb2,
)

# Every generated module of the contract, in a stable order.
MODULES: tuple[ModuleType, ...] = (
    call_control_pb2,
    call_control_applications_pb2,
    call_events_pb2,
    connections_pb2,
    events_pb2,
    common_pb2,
)

STRUCT = "google.protobuf.Struct"
VALUE = "google.protobuf.Value"
LIST_VALUE = "google.protobuf.ListValue"


def descriptor_of(message: Message | type[Message]) -> Descriptor:
    """`message.DESCRIPTOR`, typed as the public descriptor class. The stubs type it as a union with
    upb's C descriptor class, which at runtime is an instance of `google.protobuf.descriptor.Descriptor`
    (its metaclass makes `isinstance` accept the C classes), with the same interface."""
    descriptor: Descriptor = message.DESCRIPTOR  # type: ignore[assignment]  # see above; no `cast` call
    return descriptor


def message_type(field: FieldDescriptor) -> Descriptor:
    """The message type of a `TYPE_MESSAGE` field (map fields included)."""
    mt = field.message_type
    assert mt is not None, f"{field.full_name} is not a message field"
    return mt


def wire_name(field: FieldDescriptor) -> str:
    """The JSON key of a field: its `(wire_name)` option, else its proto name."""
    return _wire_name(field)


@functools.cache
def _wire_name(field: FieldDescriptor) -> str:
    opts = field.GetOptions()
    if opts.HasExtension(options_pb2.wire_name):
        return opts.Extensions[options_pb2.wire_name]
    return field.name


@functools.cache
def oneof_wire_name(oneof: OneofDescriptor) -> str:
    """The JSON member name of a oneof (its `oneof_wire_name` option, else its proto name)."""
    opts = oneof.GetOptions()
    if opts.HasExtension(options_pb2.oneof_wire_name):
        return opts.Extensions[options_pb2.oneof_wire_name]
    return oneof.name


@functools.cache
def oneof_required(oneof: OneofDescriptor) -> bool:
    """Whether the request must set one member of the oneof (its `oneof_required` option)."""
    return bool(oneof.GetOptions().Extensions[options_pb2.oneof_required])


@functools.cache
def shape(message: Descriptor) -> int:
    """`options_pb2.WIRE_SHAPE_*` of a message."""
    return message.GetOptions().Extensions[options_pb2.wire_shape]


@functools.cache
def discriminator(message: Descriptor) -> tuple[str, str] | None:
    """The (member, value) pair that tells a union variant apart on the wire, if the message has one."""
    opts = message.GetOptions()
    if not opts.HasExtension(options_pb2.discriminator):
        return None
    d = opts.Extensions[options_pb2.discriminator]
    return d.field, d.value


@functools.cache
def is_union_oneof(oneof: OneofDescriptor) -> bool:
    """A real `oneof` (not the synthetic one proto3 `optional` creates)."""
    return not getattr(oneof, "is_synthetic", False) and not (
        len(oneof.fields) == 1 and oneof.name == f"_{oneof.fields[0].name}"
    )


@functools.cache
def is_map(field: FieldDescriptor) -> bool:
    """Whether the field is a proto `map` (a repeated map-entry message)."""
    return field.type == FieldDescriptor.TYPE_MESSAGE and message_type(field).GetOptions().map_entry


def is_repeated(field: FieldDescriptor) -> bool:
    """Whether the field is a list or a map."""
    return field.is_repeated


@functools.cache
def enum_maps(enum: EnumDescriptor) -> tuple[dict[int, str], dict[str, int]]:
    """(number → wire string, wire string → number) for an enum, without its zero value."""
    # Value names are `<ENUM_PREFIX>_<VALUE>`; the zero value `<ENUM_PREFIX>_UNSPECIFIED` names the prefix.
    prefix = enum.values_by_number[0].name.removesuffix("UNSPECIFIED")
    to_wire: dict[int, str] = {}
    for value in enum.values:
        if value.number == 0:
            continue
        opts = value.GetOptions()
        if opts.HasExtension(options_pb2.wire_value):
            wire = opts.Extensions[options_pb2.wire_value]
        else:
            wire = value.name.removeprefix(prefix).lower()
        to_wire[value.number] = wire
    return to_wire, {w: n for n, w in to_wire.items()}


@functools.cache
def fields_by_wire_name(
    message: Descriptor, exclude: frozenset[str] = frozenset()
) -> dict[str, FieldDescriptor | OneofDescriptor]:
    """JSON key → field, or → oneof for field-level unions; `exclude` drops fields by proto name."""
    out: dict[str, FieldDescriptor | OneofDescriptor] = {}
    for field in message.fields:
        if field.name in exclude:
            continue
        oneof = field.containing_oneof
        if oneof is not None and is_union_oneof(oneof):
            out[oneof_wire_name(oneof)] = oneof
        else:
            out[wire_name(field)] = field
    return out
