"""Every endpoint, field and enum value of the Telnyx reference has a counterpart in the protos.

The walk below reads the reference and the descriptors side by side and names each gap
(`DialCallRequest /assistant/tools/2/webhook/url: no field`). It prints the coverage figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from google.api import field_behavior_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor, OneofDescriptor

from tests.support.reference import (
    PAGE_KEYS,
    REFERENCE_PATH,
    endpoint_id,
    endpoints,
    reference,
    request_schema,
    response_item_schema,
)
from voicesvc.transcode import descriptors as d
from voicesvc.transcode.routes import ROUTES
from voicesvc.v1 import events_pb2, options_pb2

T = FieldDescriptor
SCALAR_TYPES = {
    "string": (T.TYPE_STRING,),
    "integer": (T.TYPE_INT32, T.TYPE_INT64),
    "number": (T.TYPE_DOUBLE, T.TYPE_FLOAT),
    "boolean": (T.TYPE_BOOL,),
}


@dataclass
class Coverage:
    fields: int = 0
    fields_covered: int = 0
    enum_values: int = 0
    enum_values_typed: int = 0
    enum_values_open: int = 0
    gaps: list[str] = field(default_factory=list)

    def gap(self, where: str, what: str) -> None:
        self.gaps.append(f"{where}: {what}")


def _required(f: FieldDescriptor) -> bool:
    return field_behavior_pb2.REQUIRED in f.GetOptions().Extensions[field_behavior_pb2.field_behavior]


class Walker:
    def __init__(self, cov: Coverage) -> None:
        self.cov = cov

    def object(self, schema: dict, desc: Descriptor, where: str, skip: frozenset[str] = frozenset()) -> None:
        by_key = d.fields_by_wire_name(desc, skip)
        disc = d.discriminator(desc)
        required = set(schema.get("required", []))
        for key, sub in schema.get("properties", {}).items():
            if key in PAGE_KEYS:
                continue
            self.cov.fields += 1
            here = f"{where}/{key}"
            if disc and key == disc[0]:
                if sub.get("enum") != [disc[1]]:
                    self.cov.gap(here, f"discriminator option {disc} does not match {sub}")
                    continue
                self.cov.fields_covered += 1
                self.cov.enum_values += 1
                self.cov.enum_values_typed += 1
                continue
            target = by_key.get(key)
            if target is None:
                self.cov.gap(here, "no field")
                continue
            self.cov.fields_covered += 1
            if isinstance(target, OneofDescriptor):
                if key in required and not d.oneof_required(target):
                    self.cov.gap(here, "required union not marked (oneof_required)")
                self.union(sub, list(target.fields), here)
                continue
            if key in required and not _required(target):
                self.cov.gap(here, "required but not (google.api.field_behavior) = REQUIRED")
            self.field(sub, target, here)

    def field(self, schema: dict, f: FieldDescriptor, where: str) -> None:
        if d.is_map(f):
            if schema.get("type") != "map":
                self.cov.gap(where, f"proto map but reference {schema}")
                return
            self.value(schema["values"], f.message_type.fields_by_name["value"], where + "/*")
            return
        if f.is_repeated:
            if schema.get("type") != "array":
                self.cov.gap(where, f"repeated field but reference {schema}")
                return
            self.value(schema["items"], f, where + "/*")
            return
        self.value(schema, f, where)

    def value(self, schema: dict, f: FieldDescriptor, where: str) -> None:
        """Checks one (non-repeated) value of field `f` against `schema`."""
        if f.type == T.TYPE_MESSAGE:
            self.message_value(schema, f.message_type, where)
        elif "oneOf" in schema:
            self.cov.gap(where, "union carried by a scalar field")
        elif "enum" in schema:
            self.enum(schema["enum"], f, where)
        elif schema.get("type") in SCALAR_TYPES:
            if f.type not in SCALAR_TYPES[schema["type"]]:
                self.cov.gap(where, f"type {schema['type']} carried as {f.type}")
        else:
            self.cov.gap(where, f"{schema} carried as scalar {f.type}")

    def message_value(self, schema: dict, desc: Descriptor, where: str) -> None:
        name = desc.full_name
        t = schema.get("type")
        if name == d.STRUCT:
            if t != "map" or schema["values"].get("type") != "any":
                self.cov.gap(where, f"Struct used for {schema}")
            return
        if name == d.VALUE:
            if t != "any":
                self.cov.gap(where, f"Value used for {schema}")
            return
        shape = d.shape(desc)
        if shape == options_pb2.WIRE_SHAPE_UNION:
            if "oneOf" not in schema:
                self.cov.gap(where, f"union message {desc.name} for non-union {schema}")
                return
            self.union(schema, list(desc.oneofs[0].fields), where)
        elif shape == options_pb2.WIRE_SHAPE_LIST:
            if t != "array":
                self.cov.gap(where, f"list message {desc.name} for {schema}")
                return
            self.value(schema["items"], desc.fields[0], where + "/*")
        elif t == "object":
            self.object(schema, desc, where)
        else:
            self.cov.gap(where, f"message {desc.name} for {schema}")

    def union(self, schema: dict, members: list[FieldDescriptor], where: str) -> None:
        variants = schema.get("oneOf")
        if not variants:
            self.cov.gap(where, "oneof for a non-union")
            return
        unused = list(members)
        for i, variant in enumerate(variants):
            match = next((m for m in unused if self._fits(variant, m)), None)
            if match is None:
                self.cov.gap(f"{where}|{i}", f"no union member for variant {str(variant)[:80]}")
                continue
            unused.remove(match)
            self.value(variant, match, f"{where}|{i}")
        for m in unused:
            self.cov.gap(where, f"union member {m.name} matches no reference variant")

    @staticmethod
    def _fits(variant: dict, member: FieldDescriptor) -> bool:
        t = variant.get("type")
        if member.type != T.TYPE_MESSAGE:
            return t in SCALAR_TYPES and member.type in SCALAR_TYPES[t]
        desc = member.message_type
        if desc.full_name == d.STRUCT:
            return t == "map"
        shape = d.shape(desc)
        if shape == options_pb2.WIRE_SHAPE_LIST:
            return t == "array"
        disc = d.discriminator(desc)
        if disc:
            return variant.get("properties", {}).get(disc[0], {}).get("enum") == [disc[1]]
        return t == "object"

    def enum(self, values: list, f: FieldDescriptor, where: str) -> None:
        self.cov.enum_values += len(values)
        if f.type == T.TYPE_ENUM:
            known = d.enum_maps(f.enum_type)[1]
            for v in values:
                if v in known:
                    self.cov.enum_values_typed += 1
                else:
                    self.cov.gap(where, f"enum value {v!r} missing from {f.enum_type.name}")
            extra = set(known) - set(values)
            if extra:
                self.cov.gap(where, f"{f.enum_type.name} has values the reference lacks: {sorted(extra)}")
        elif (all(isinstance(v, bool) for v in values) and f.type == T.TYPE_BOOL) or (
            all(isinstance(v, int) for v in values) and f.type in (T.TYPE_INT32, T.TYPE_INT64)
        ):
            self.cov.enum_values_typed += len(values)
        elif f.type == T.TYPE_STRING and all(isinstance(v, str) for v in values):
            # Large open-ended sets (languages, voices) stay strings; any of the values fits.
            self.cov.enum_values_open += len(values)
        else:
            self.cov.gap(where, f"enum {values[:4]} carried as {f.type}")


def _route_for(ep: dict) -> Any:
    return next((r for r in ROUTES if r.http_method == ep["method"] and r.path_template == ep["path"]), None)


def endpoint_coverage(cov: Coverage) -> int:
    walker = Walker(cov)
    found = 0
    for ep in endpoints():
        route = _route_for(ep)
        where = endpoint_id(ep)
        if route is None:
            cov.gap(where, "no RPC with this google.api.http rule")
            continue
        found += 1
        req = route.request_cls.DESCRIPTOR
        for param in ep["path_params"]:
            cov.fields += 1
            f = req.fields_by_name.get(param)
            if f is None or f.type != T.TYPE_STRING or not _required(f):
                cov.gap(f"{where} {{{param}}}", "no required string path field")
            else:
                cov.fields_covered += 1
        schema = request_schema(ep)
        if route.is_list != any(k in schema.get("properties", {}) for k in PAGE_KEYS):
            cov.gap(where, "paging fields do not match the reference's page[number]/page[size]")
        walker.object(schema, req, f"{where} {req.name}", skip=frozenset(route.path_params))
        item, is_list = response_item_schema(ep)
        resp = route.response_cls.DESCRIPTOR
        if is_list:
            repeated = [f for f in resp.fields if f.is_repeated]
            names = {f.name for f in resp.fields}
            if len(repeated) != 1 or not {"next_page_token", "total_size"} <= names:
                cov.gap(where, f"{resp.name} is not an AIP-158 list response")
                continue
            walker.object(item, repeated[0].message_type, f"{where} {resp.name}.{repeated[0].name}[]")
        else:
            walker.object(item, resp, f"{where} {resp.name}")
    return found


def event_coverage(cov: Coverage) -> int:
    walker = Walker(cov)
    event = events_pb2.Event.DESCRIPTOR
    members = {f.name: f for f in event.oneofs_by_name["payload"].fields}
    lifted = {
        "id": "id",
        "event_type": "event_type",
        "occurred_at": "occurred_at",
        "created_at": "created_at",
    }
    found = 0
    for ev in reference()["webhook_events"]:
        etype = ev["event_type"]
        member = members.get(etype.replace(".", "_"))
        if member is None:
            cov.gap(etype, "no Event.payload member")
            continue
        found += 1
        data = ev["data"]["properties"]
        for key in data:
            cov.fields += 1
            if key == "payload":
                cov.fields_covered += 1
                walker.object(data["payload"], member.message_type, f"{etype} {member.message_type.name}")
            elif key == "record_type":
                # Always "event"; the stream carries only events.
                cov.fields_covered += 1
                cov.enum_values += len(data[key].get("enum", []))
                cov.enum_values_typed += len(data[key].get("enum", []))
            elif key in lifted and lifted[key] in event.fields_by_name:
                cov.fields_covered += 1
                if key == "event_type":
                    cov.enum_values += 1
                    cov.enum_values_typed += 1
            else:
                cov.gap(etype, f"data.{key} has no Event field")
    return found


def test_reference_copy_matches_shared() -> None:
    shared = (Path(__file__).resolve().parents[1] / ".." / "shared" / "telnyx-voice-api.json").resolve()
    if not shared.exists():
        pytest.skip("no ../shared/telnyx-voice-api.json next to this clone")
    assert REFERENCE_PATH.read_bytes() == shared.read_bytes(), "tests/data copy differs from ../shared"


def test_every_endpoint_field_and_enum_value_has_a_counterpart(capsys: pytest.CaptureFixture[str]) -> None:
    cov = Coverage()
    n_endpoints = endpoint_coverage(cov)
    total = len(endpoints())
    with capsys.disabled():
        print(
            f"\ncontract coverage: endpoints {n_endpoints}/{total}, "
            f"fields {cov.fields_covered}/{cov.fields} ({100 * cov.fields_covered / cov.fields:.1f}%), "
            f"enum values {cov.enum_values_typed + cov.enum_values_open}/{cov.enum_values} "
            f"({100 * (cov.enum_values_typed + cov.enum_values_open) / cov.enum_values:.1f}%: "
            f"{cov.enum_values_typed} as proto enums/typed scalars, "
            f"{cov.enum_values_open} in open string sets)"
        )
    assert not cov.gaps, "contract gaps:\n" + "\n".join(cov.gaps)
    assert n_endpoints == total == 50
    assert len(ROUTES) == total, "an RPC with an http rule that is not in the reference"


def test_every_webhook_event_type_and_payload_field_has_a_counterpart(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cov = Coverage()
    n = event_coverage(cov)
    total = len(reference()["webhook_events"])
    with capsys.disabled():
        print(
            f"\nevent coverage: types {n}/{total}, fields {cov.fields_covered}/{cov.fields} "
            f"({100 * cov.fields_covered / max(cov.fields, 1):.1f}%), enum values "
            f"{cov.enum_values_typed + cov.enum_values_open}/{cov.enum_values}"
        )
    assert not cov.gaps, "event gaps:\n" + "\n".join(cov.gaps)
    assert n == total == 43


def test_no_comment_is_a_placeholder() -> None:
    """`buf lint` (COMMENTS) requires a comment everywhere; this makes sure none is a fallback text."""
    text = "".join(p.read_text() for p in sorted((Path(__file__).parents[1] / "protos").rglob("*.proto")))
    assert "The value `" not in text
