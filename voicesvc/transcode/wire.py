"""Any contract message ⇄ the exact JSON the Telnyx REST API uses.

Encoding follows field presence: unset fields are left out, explicitly set `false`, `0` and `""` are
kept; enums become their wire strings; unions are written as the value of the member that is set,
with the variant's discriminator key added. Decoding is the reverse: `strict` decoding (requests
arriving at the sandbox) reports every wrong type, unknown enum value and unknown key as a
violation, lenient decoding (Telnyx responses) skips what it does not understand.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, OneofDescriptor
from google.protobuf.message import Message

from voicesvc.transcode import descriptors as d
from voicesvc.transcode.pointer import extend, join
from voicesvc.v1 import options_pb2

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
JSON_OBJECT = (d.STRUCT,)
_T = FieldDescriptor


@dataclass
class Violation:
    """One problem with a JSON document, at a JSON pointer (`/assistant/tools/0/type`)."""

    pointer: str
    detail: str


@dataclass
class WireError(Exception):
    """The JSON does not fit the message; `violations` names every offending field."""

    violations: list[Violation] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"{v.pointer or '/'}: {v.detail}" for v in self.violations)


def message_class(desc: Descriptor) -> type[Message]:
    """The generated message class of a descriptor."""
    return message_factory.GetMessageClass(desc)


# -- message → JSON ------------------------------------------------------------------------------------------
def to_json(message: Message, exclude: Iterable[str] = ()) -> Any:
    """The JSON value of a message; `exclude` names top-level fields to leave out (path parameters)."""
    desc = d.descriptor_of(message)
    if desc.full_name in (d.STRUCT, d.VALUE):
        return integral_numbers(json_format.MessageToDict(message))
    shape = d.shape(desc)
    if shape == options_pb2.WIRE_SHAPE_UNION:
        member = message.WhichOneof(desc.oneofs[0].name)
        return None if member is None else _value(desc.fields_by_name[member], getattr(message, member))
    if shape == options_pb2.WIRE_SHAPE_LIST:
        f = desc.fields[0]
        return _list(f, getattr(message, f.name))
    out: dict[str, Any] = {}
    disc = d.discriminator(desc)
    if disc:
        out[disc[0]] = disc[1]
    # ListFields yields only what is set: present optionals, non-empty lists, non-default implicit scalars
    # and the set member of each oneof, in field-number order.
    try:
        for f, value in message.ListFields():
            if exclude and f.name in exclude:
                continue
            key, plain = _encoding_of(f)
            if plain:
                out[key] = value  # a string, bool or integer is its own JSON value
                continue
            if f.type == _T.TYPE_ENUM and not f.is_repeated and value == 0:
                continue  # an enum explicitly set to UNSPECIFIED means "not set"
            encoded = _value(f, value)
            if encoded is not None:
                out[key] = encoded
    except WireError as exc:
        raise _under(join(_json_key(f)), exc) from None
    return out


_PLAIN_ENCODED = frozenset({_T.TYPE_STRING, _T.TYPE_BOOL, _T.TYPE_INT32, _T.TYPE_INT64})


@functools.cache
def _encoding_of(f: FieldDescriptor) -> tuple[str, bool]:
    """The field's JSON key, and whether its value is written as it is (a singular string, bool or
    integer: what `_value` would return unchanged)."""
    return _json_key(f), f.type in _PLAIN_ENCODED and not f.is_repeated


def integral_numbers(value: Any) -> Any:
    """`value` (decoded JSON) with every integral finite float written as an integer, at any depth.

    `google.protobuf.Value` holds numbers as doubles, so `json_format` gives `0.0` for 0: Telnyx (like the
    JSON a client meant) expects `0`. The integer is the double's exact value (`1e20` →
    `100000000000000000000`); beyond 2**53 a double cannot tell neighbouring integers apart, so what the
    caller put into the `Value` is what is sent.
    """
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else value
    if isinstance(value, dict):
        return {key: integral_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [integral_numbers(item) for item in value]
    return value


@functools.cache
def _json_key(f: FieldDescriptor) -> str:
    oneof = f.containing_oneof
    if oneof is not None and d.is_union_oneof(oneof):
        return d.oneof_wire_name(oneof)
    return d.wire_name(f)


def _value(f: FieldDescriptor, value: Any) -> Any:
    if d.is_map(f):
        vf = d.message_type(f).fields_by_name["value"]
        out: dict[str, Any] = {}
        try:
            for key, item in value.items():
                out[key] = _single(vf, item)
        except WireError as exc:
            raise _under(join(key), exc) from None
        return out
    if f.is_repeated:
        return _list(f, value)
    return _single(f, value)


def _list(f: FieldDescriptor, values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    try:
        for item in values:
            out.append(_single(f, item))
    except WireError as exc:
        raise _under(join(len(out)), exc) from None
    return out


def _under(step: str, exc: WireError) -> WireError:
    """`exc` with the pointers of its violations placed under `step` (callers know where they are)."""
    return WireError([Violation(step + v.pointer, v.detail) for v in exc.violations])


def _refused(problem: str) -> WireError:
    """A violation of the value being encoded; callers prefix the path to it (see `_at`)."""
    return WireError([Violation("", problem)])


def _single(f: FieldDescriptor, value: Any) -> Any:
    t = f.type
    if t == _T.TYPE_MESSAGE:
        try:
            return to_json(value)
        except ValueError:  # a Struct or Value holding NaN or infinity, which JSON cannot carry
            raise _refused("holds a number that is not finite") from None
    if t == _T.TYPE_ENUM:
        enum = f.enum_type
        assert enum is not None
        wire = d.enum_maps(enum)[0].get(value)
        if wire is None:
            # proto3 lets any number through; only the contract's values mean something to Telnyx.
            raise _refused(f"must be one of the {enum.name} values, not {value}")
        return wire
    if t == _T.TYPE_DOUBLE:
        if not math.isfinite(value):
            # JSON has no infinity or NaN: refuse rather than send something Telnyx cannot parse.
            raise _refused("must be a finite number")
        if value == int(value) and abs(value) < 2**53:
            return int(value)
    return value


# -- JSON → message ------------------------------------------------------------------------------------------
class _Decoder:
    def __init__(self, strict: bool, coerce_strings: bool, exclude: frozenset[str]) -> None:
        self.strict = strict
        self.coerce = coerce_strings
        self.exclude = exclude
        self.violations: list[Violation] = []

    def fail(self, pointer: str, detail: str) -> None:
        if self.strict:
            self.violations.append(Violation(pointer, detail))

    def below(self, pointer: str, token: str | int) -> str:
        """The pointer one level down; a lenient decoder reports nothing, so it never builds one."""
        return extend(pointer, token) if self.strict else pointer

    def message(self, msg: Message, data: Any, pointer: str, exclude: frozenset[str] = frozenset()) -> bool:
        """Fills `msg` from `data`; False when the data cannot be this message at all."""
        desc: Descriptor = msg.DESCRIPTOR  # type: ignore[assignment]  # as `d.descriptor_of`
        if desc.full_name in (d.STRUCT, d.VALUE):
            if desc.full_name == d.STRUCT and not isinstance(data, dict):
                self.fail(pointer, "must be an object")
                return False
            try:
                json_format.ParseDict(data, msg)
                json_format.MessageToDict(msg)  # refuses the NaN and infinities ParseDict lets in
            except (json_format.ParseError, ValueError, OverflowError, RecursionError):
                # A number beyond a double, or nesting protobuf refuses.
                msg.Clear()
                self.fail(pointer, "holds a value that cannot be represented")
                return False
            return True
        shape = d.shape(desc)
        if shape == options_pb2.WIRE_SHAPE_UNION:
            return self.union(msg, desc.oneofs[0], data, pointer)
        if shape == options_pb2.WIRE_SHAPE_LIST:
            if not isinstance(data, list):
                self.fail(pointer, "must be an array")
                return False
            f = desc.fields[0]
            for i, item in enumerate(data):
                self.append(msg, f, item, self.below(pointer, i))
            return True
        if not isinstance(data, dict):
            self.fail(pointer, "must be an object")
            return False
        by_key = d.fields_by_wire_name(desc, exclude)
        disc = d.discriminator(desc)
        plain = _plain_scalars(desc, exclude)
        enums = _plain_enums(desc, exclude)
        for key, value in data.items():
            slot = plain.get(key)
            # The common case, a JSON value of exactly the field's kind, is set without the general path.
            if slot is not None and type(value) is slot[1] and (slot[2] is None or slot[2](value)):
                setattr(msg, slot[0], value)
                continue
            labels = enums.get(key)
            if labels is not None and type(value) is str and value in labels[1]:
                setattr(msg, labels[0], labels[1][value])
                continue
            sub = self.below(pointer, key)
            if disc and key == disc[0]:
                if value != disc[1]:
                    self.fail(sub, f"must be {disc[1]!r}")
                continue
            target = by_key.get(key)
            if target is None:
                self.fail(sub, "is not a known field")
            elif isinstance(target, OneofDescriptor):
                self.union(msg, target, value, sub)
            else:
                self.field(msg, target, value, sub)
        return True

    def field(self, msg: Message, f: FieldDescriptor, value: Any, pointer: str) -> None:
        if (
            value is None
            and not self.strict
            and not (f.type == _T.TYPE_MESSAGE and d.message_type(f).full_name == d.VALUE)
        ):
            return  # Telnyx answers null for a value it does not have: the field stays unset.
        if d.is_map(f):
            if not isinstance(value, dict):
                self.fail(pointer, "must be an object")
                return
            vf = d.message_type(f).fields_by_name["value"]
            target = getattr(msg, f.name)
            for k, v in value.items():
                sub = self.below(pointer, k)
                if vf.type == _T.TYPE_MESSAGE:
                    self.message(target[k], v, sub)
                else:
                    ok, converted = self.scalar(vf, v, sub)
                    if ok:
                        target[k] = converted
            return
        if d.is_repeated(f):
            if not isinstance(value, list):
                self.fail(pointer, "must be an array")
                return
            for i, item in enumerate(value):
                self.append(msg, f, item, self.below(pointer, i))
            return
        if f.type == _T.TYPE_MESSAGE:
            # SetInParent marks presence even when the JSON object is empty (`"assistant": {}`).
            getattr(msg, f.name).SetInParent()
            self.message(getattr(msg, f.name), value, pointer)
            return
        ok, converted = self.scalar(f, value, pointer)
        if ok:
            setattr(msg, f.name, converted)

    def append(self, msg: Message, f: FieldDescriptor, item: Any, pointer: str) -> None:
        container = getattr(msg, f.name)
        if f.type == _T.TYPE_MESSAGE:
            sub = message_class(d.message_type(f))()
            if self.message(sub, item, pointer):
                container.append(sub)
            return
        ok, converted = self.scalar(f, item, pointer)
        if ok:
            container.append(converted)

    def union(self, msg: Message, oneof: OneofDescriptor, value: Any, pointer: str) -> bool:
        for f in _candidates(oneof, value):
            if f.type == _T.TYPE_MESSAGE:
                trial = _Decoder(True, self.coerce, frozenset())
                sub = message_class(d.message_type(f))()
                if trial.message(sub, value, pointer) and not trial.violations:
                    getattr(msg, f.name).CopyFrom(sub)
                    return True
                continue
            ok, converted = _Decoder(True, self.coerce, frozenset()).scalar(f, value, pointer)
            if ok:
                setattr(msg, f.name, converted)
                return True
        # Nothing fits exactly: report against the closest variant when strict, else keep what fits.
        for f in _candidates(oneof, value):
            if f.type == _T.TYPE_MESSAGE and isinstance(value, dict):
                self.message(getattr(msg, f.name), value, pointer)
                return True
        self.fail(pointer, f"does not match any allowed shape of {oneof.name}")
        return False

    def scalar(self, f: FieldDescriptor, value: Any, pointer: str) -> tuple[bool, Any]:
        t = f.type
        if self.coerce and isinstance(value, str) and t != _T.TYPE_STRING and t != _T.TYPE_ENUM:
            value = _coerce(t, value)
        if t == _T.TYPE_STRING:
            if isinstance(value, str):
                return True, value
            self.fail(pointer, "must be a string")
        elif t == _T.TYPE_BOOL:
            if isinstance(value, bool):
                return True, value
            self.fail(pointer, "must be a boolean")
        elif t in (_T.TYPE_INT32, _T.TYPE_INT64):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, int) and not isinstance(value, bool):
                low, high = (INT32_MIN, INT32_MAX) if t == _T.TYPE_INT32 else (INT64_MIN, INT64_MAX)
                if not low <= value <= high:
                    self.fail(pointer, "is out of range")
                    return False, None
                return True, value
            self.fail(pointer, "must be an integer")
        elif t in (_T.TYPE_DOUBLE, _T.TYPE_FLOAT):
            if isinstance(value, int | float) and not isinstance(value, bool):
                try:
                    real = float(value)
                except OverflowError:
                    real = math.inf
                if math.isfinite(real):
                    return True, real
                self.fail(pointer, "must be a finite number")
                return False, None
            self.fail(pointer, "must be a number")
        elif t == _T.TYPE_ENUM:
            number = d.enum_maps(f.enum_type)[1].get(value) if isinstance(value, str) else None
            if number is not None:
                return True, number
            allowed = ", ".join(sorted(d.enum_maps(f.enum_type)[1]))
            self.fail(pointer, f"must be one of: {allowed}")
        else:
            self.fail(pointer, "has an unsupported type")
        return False, None


_PlainSlot = tuple[str, type, Callable[[Any], bool] | None]
"""A plain scalar field: its attribute, the one Python type taken as is, and the check that value needs."""

_PLAIN_KINDS: dict[int, tuple[type, Callable[[Any], bool] | None]] = {
    _T.TYPE_STRING: (str, None),
    _T.TYPE_BOOL: (bool, None),
    _T.TYPE_INT32: (int, lambda v: INT32_MIN <= v <= INT32_MAX),
    _T.TYPE_INT64: (int, lambda v: INT64_MIN <= v <= INT64_MAX),
    _T.TYPE_DOUBLE: (float, math.isfinite),
}


@functools.cache
def _plain_scalars(desc: Descriptor, exclude: frozenset[str]) -> dict[str, _PlainSlot]:
    """JSON key → slot for the singular string, bool, integer and double fields of an object-shaped message
    (not the discriminator key, not a union member): a value of the slot's exact type that passes its check
    is what `_Decoder.field` would set, in strict and lenient decoding alike."""
    disc = d.discriminator(desc)
    out: dict[str, _PlainSlot] = {}
    for key, target in d.fields_by_wire_name(desc, exclude).items():
        if not isinstance(target, FieldDescriptor) or (disc and key == disc[0]):
            continue
        kind = _PLAIN_KINDS.get(target.type)
        if kind is not None and not d.is_repeated(target) and not d.is_map(target):
            out[key] = (target.name, *kind)
    return out


@functools.cache
def _plain_enums(desc: Descriptor, exclude: frozenset[str]) -> dict[str, tuple[str, dict[str, int]]]:
    """JSON key → (attribute, wire string → number) for the singular enum fields `_plain_scalars` would take
    if they were scalars: a known wire string is what `_Decoder.field` would set, strict or lenient."""
    disc = d.discriminator(desc)
    out: dict[str, tuple[str, dict[str, int]]] = {}
    for key, target in d.fields_by_wire_name(desc, exclude).items():
        if not isinstance(target, FieldDescriptor) or (disc and key == disc[0]):
            continue
        if target.type == _T.TYPE_ENUM and not d.is_repeated(target):
            out[key] = (target.name, d.enum_maps(target.enum_type)[1])
    return out


def _candidates(oneof: OneofDescriptor, value: Any) -> list[FieldDescriptor]:
    """The union members worth trying for a JSON value, the likeliest first."""
    out: list[FieldDescriptor] = []
    for f in oneof.fields:
        if f.type == _T.TYPE_MESSAGE:
            mt = d.message_type(f)
            shape = d.shape(mt)
            disc = d.discriminator(mt)
            if (isinstance(value, list) and shape == options_pb2.WIRE_SHAPE_LIST) or (
                isinstance(value, dict) and disc and value.get(disc[0]) == disc[1]
            ):
                out.insert(0, f)
            elif isinstance(value, dict) and not disc and shape != options_pb2.WIRE_SHAPE_LIST:
                out.append(f)
        elif _scalar_kind_matches(f, value):
            out.append(f)
    return out


def _scalar_kind_matches(f: FieldDescriptor, value: Any) -> bool:
    t = f.type
    if t == _T.TYPE_STRING or t == _T.TYPE_ENUM:
        return isinstance(value, str)
    if t == _T.TYPE_BOOL:
        return isinstance(value, bool)
    if t in (_T.TYPE_INT32, _T.TYPE_INT64):
        return isinstance(value, int) and not isinstance(value, bool)
    if t in (_T.TYPE_DOUBLE, _T.TYPE_FLOAT):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return False


def _coerce(t: int, text: str) -> Any:
    """Query-string values are text; read them as the field's type when they look like it."""
    if t == _T.TYPE_BOOL:
        return {"true": True, "false": False}.get(text, text)
    try:
        if t in (_T.TYPE_INT32, _T.TYPE_INT64):
            return int(text)
        if t in (_T.TYPE_DOUBLE, _T.TYPE_FLOAT):
            return float(text)
    except ValueError:
        return text
    return text


_LENIENT = _Decoder(strict=False, coerce_strings=False, exclude=frozenset())


def from_json(
    cls: type[Message] | Descriptor,
    data: Any,
    *,
    strict: bool = False,
    coerce_strings: bool = False,
    exclude: Iterable[str] = (),
    into: Message | None = None,
) -> Message:
    """Builds a message from JSON. Strict decoding raises `WireError` naming every offending field;
    lenient decoding ignores unknown keys and values. `exclude` hides top-level fields by proto name."""
    if into is not None:
        msg = into
    elif isinstance(cls, Descriptor):
        msg = message_class(cls)()
    else:
        msg = cls()
    if not (strict or coerce_strings or exclude):
        # A lenient decoder reports nothing and keeps no state: the one shared decoder serves (the usual
        # case, every Telnyx answer).
        _LENIENT.message(msg, data, "")
        return msg
    decoder = _Decoder(strict, coerce_strings, frozenset(exclude))
    decoder.message(msg, data, "", frozenset(exclude))
    if decoder.violations:
        raise WireError(decoder.violations)
    return msg
