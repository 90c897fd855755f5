"""Bootstrap the voicesvc.v1 protos from the Telnyx Voice reference (tests/data/telnyx-voice-api.json).

The protos are the product's contract and are committed; this tool writes them from the reference
so that nothing in it is left out, with the comments kept in `docs.py`. Run it with
`make protos-from-reference` when the reference changes, then review the diff: field numbers follow the
reference's property order, so appending properties keeps numbers stable.

Mapping rules (the transcoder and the contract tests rely on the same ones):
- objects become messages, deduplicated by structure; scalars are proto3 `optional`;
- closed enums become proto enums whose wire string is the lower-cased value name, or the
  `(wire_value)` option when that does not round-trip; large open-ended sets stay strings;
- a union property becomes a `oneof` named after it; a union inside an array or a map becomes a
  message with `(wire_shape) = WIRE_SHAPE_UNION`; an array inside a union becomes a
  `WIRE_SHAPE_LIST` message; the variants' constant `type` keys become `(discriminator)` options;
- keys that are not identifiers keep their JSON spelling in `(wire_name)`.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import docs

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "data" / "telnyx-voice-api.json"
OUT = ROOT / "protos" / "voicesvc" / "v1"

# Names too vague to stand alone in the package: they are prefixed with their parent's name.
GENERIC_NAMES = frozenset(
    {
        "Value",
        "Name",
        "Model",
        "Region",
        "Role",
        "Family",
        "Mode",
        "Size",
        "Sort",
        "Filter",
        "Product",
        "Status",
        "Type",
        "Result",
        "State",
        "Reason",
        "Method",
        "Format",
        "Effect",
        "Gender",
        "Precision",
        "Record",
        "Cause",
        "Direction",
        "Hangup",
        "Transfer",
        "Retrieval",
        "Function",
        "Header",
        "Language",
        "Prompts",
        "Inbound",
        "Outbound",
        "Webhook",
        "Participant",
        "Transcription",
        "Privacy",
        "Currency",
    }
)

# Enums with more values than this are open-ended lists (languages, voices, models) kept as strings.
MAX_ENUM_VALUES = 24

RPC_NAMES = {
    "calls.dial": "DialCall",
    "calls.retrieve_status": "GetCallStatus",
    "calls.actions.answer": "AnswerCall",
    "calls.actions.bridge": "BridgeCall",
    "calls.actions.enqueue": "EnqueueCall",
    "calls.actions.gather": "GatherDigits",
    "calls.actions.stop_gather": "StopGather",
    "calls.actions.hangup": "HangupCall",
    "calls.actions.refer": "ReferCall",
    "calls.actions.reject": "RejectCall",
    "calls.actions.speak": "SpeakText",
    "calls.actions.transfer": "TransferCall",
    "calls.actions.pay": "CollectPayment",
    "callControlApplications.list": "ListCallControlApplications",
    "callControlApplications.create": "CreateCallControlApplication",
    "callControlApplications.retrieve": "GetCallControlApplication",
    "callControlApplications.update": "UpdateCallControlApplication",
    "callControlApplications.delete": "DeleteCallControlApplication",
    "callEvents.list": "ListCallEvents",
    "connections.list_active_calls": "ListActiveCalls",
}

SERVICES = {
    "calls": ("CallControl", "call_control.proto"),
    "calls.actions": ("CallControl", "call_control.proto"),
    "callControlApplications": ("CallControlApplications", "call_control_applications.proto"),
    "callEvents": ("CallEvents", "call_events.proto"),
    "connections": ("Connections", "connections.proto"),
}

SERVICE_DOCS = {
    "CallControl": [
        "Places and controls calls: dialing out, reading a call's status, and every command Telnyx",
        "accepts on a live call leg (answer, bridge, play, speak, gather, record, stream, transfer,",
        "hang up …).",
        "Commands that accept a `command_id` are sent with one (a fresh UUID when the caller leaves it",
        "empty), so a retried command never acts twice.",
    ],
    "CallControlApplications": [
        "Manages call control applications: the Telnyx connections that route calls to your webhooks.",
    ],
    "CallEvents": ["Reads the history of commands and webhooks Telnyx recorded for your calls."],
    "Connections": ["Reads what is happening on a connection right now."],
}

# List RPCs: the repeated field and the message name of one item.
LIST_ITEMS = {
    "callControlApplications.list": ("call_control_applications", "CallControlApplication"),
    "callEvents.list": ("call_events", "CallEvent"),
    "connections.list_active_calls": ("active_calls", "ActiveCall"),
}

# Commands whose outcome Telnyx reports by webhook: (success event types, failure event types). Rendered as
# the `(voicesvc.v1.outcome)` method option, the one place `Calls.ExecuteCommand` learns the pairing from;
# each of these commands is also a member of `ExecuteCommandRequest` (call_control_commands.proto).
# A `call.hangup` of the leg before any of these ends the wait with FAILED_PRECONDITION.
OUTCOMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "calls.dial": (("call.answered",), ()),
    "calls.actions.start_ai_assistant": (("call.conversation.ended",), ()),
    "calls.actions.stop_ai_assistant": (("call.conversation.ended",), ()),
    "calls.actions.answer": (("call.answered",), ()),
    "calls.actions.bridge": (("call.bridged",), ()),
    "calls.actions.enqueue": (("call.enqueued",), ()),
    "calls.actions.start_forking": (("call.fork.started",), ()),
    "calls.actions.stop_forking": (("call.fork.stopped",), ()),
    "calls.actions.gather": (("call.gather.ended",), ()),
    "calls.actions.stop_gather": (("call.gather.ended", "call.ai_gather.ended"), ()),
    "calls.actions.gather_using_ai": (("call.ai_gather.ended",), ()),
    "calls.actions.gather_using_audio": (("call.gather.ended",), ()),
    "calls.actions.gather_using_speak": (("call.gather.ended",), ()),
    "calls.actions.hangup": (("call.hangup",), ()),
    "calls.actions.leave_queue": (("call.dequeued",), ()),
    "calls.actions.start_playback": (("call.playback.ended",), ()),
    "calls.actions.stop_playback": (("call.playback.ended",), ()),
    "calls.actions.stop_recording": (("call.recording.saved",), ("call.recording.error",)),
    "calls.actions.refer": (("call.refer.completed",), ("call.refer.failed",)),
    "calls.actions.reject": (("call.hangup",), ()),
    "calls.actions.start_siprec": (("siprec.started",), ("siprec.failed",)),
    "calls.actions.stop_siprec": (("siprec.stopped",), ()),
    "calls.actions.speak": (("call.speak.ended",), ()),
    "calls.actions.start_streaming": (("streaming.started",), ("streaming.failed",)),
    "calls.actions.stop_streaming": (("streaming.stopped",), ()),
    "calls.actions.start_transcription": (("call.transcription",), ()),
    "calls.actions.transfer": (("call.bridged",), ()),
    "calls.actions.join_ai_assistant": (("call.conversation.ended",), ()),
    "calls.actions.pay": (("call.payment.completed",), ()),
}

COMMANDS_FILE = "call_control_commands.proto"

FILE_OPTIONS = """option csharp_namespace = "Voicesvc.V1";
option go_package = "github.com/voicesvc/voicesvc/gen/go/voicesvc/v1;voicesvcv1";
option java_multiple_files = true;
option java_outer_classname = "{outer}";
option java_package = "com.voicesvc.v1";
option objc_class_prefix = "VSV";
option php_namespace = "Voicesvc\\\\V1";
option ruby_package = "Voicesvc::V1";
"""

# One node of the reference JSON (a schema, an endpoint, the whole document).
Schema = dict[str, Any]

SCALARS = {"string": "string", "integer": "int32", "number": "double", "boolean": "bool"}


def pascal(name: str) -> str:
    """`xAI` → `XAi`, `deepgram/nova-2` → `DeepgramNova2`: each hump capitalised once, so the
    UPPER_SNAKE form buf expects for enum prefixes is unambiguous."""
    humps = re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+", name)
    return "".join(h[:1].upper() + h[1:].lower() for h in humps)


def snake(name: str) -> str:
    """`callControlId` → `call_control_id`; a name that would start with a digit gets a `v` prefix."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").lower()
    return s if s and not s[0].isdigit() else f"v{s}"


def upper_snake(name: str) -> str:
    """`callControlId` → `CALL_CONTROL_ID`, the form of enum value names."""
    s = re.sub(r"([A-Z])([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").upper()


def singular(name: str) -> str:
    """A plural property name's singular (`entries` → `entry`, `tools` → `tool`)."""
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


def canon(schema: object) -> str:
    """A stable text form of a schema, so identical structures are built once."""
    return json.dumps(schema, sort_keys=True)


def field_doc(parent: str, wire: str) -> str:
    """The comment of property `wire`: an override for `parent.wire`, the shared text, or a stub."""
    return docs.FIELD_OVERRIDES.get(f"{parent}.{wire}") or docs.FIELDS.get(wire) or f"The `{wire}` value."


@dataclass
class Field:
    """One proto field to render; members of a oneof name it in `oneof`."""

    name: str
    type: str
    number: int
    doc: str
    label: str = "optional"  # "optional", "repeated", "" (message, map or oneof member)
    wire_name: str | None = None
    required: bool = False
    oneof: str | None = None


@dataclass
class Oneof:
    """One proto oneof to render."""

    name: str
    doc: str
    wire_name: str | None = None
    required: bool = False


@dataclass
class Message:
    """One proto message to render, with the types it refers to and the file it lands in."""

    name: str
    doc: str
    fields: list[Field] = field(default_factory=list)
    oneofs: list[Oneof] = field(default_factory=list)
    shape: str | None = None
    discriminator: tuple[str, str] | None = None
    refs: set[str] = field(default_factory=set)
    file: str = ""

    def next_number(self) -> int:
        """The field number the next added field gets."""
        return len(self.fields) + 1


@dataclass
class Enum:
    """One proto enum to render."""

    name: str
    doc: str
    values: list[tuple[str, str, str]]  # (value name, wire string, comment)
    file: str = ""


class Builder:
    """Turns reference schemas into deduplicated messages and enums."""

    def __init__(self) -> None:
        self.messages: dict[str, Message] = {}
        self.enums: dict[str, Enum] = {}
        self._by_canon: dict[str, str] = {}
        self.roots: dict[str, set[str]] = {}  # type name -> files that reach it
        self.open_enums: list[str] = []

    # -- naming -------------------------------------------------------------------------------------
    def _claim(self, kind: str, key: str, hint: str, parent: str) -> tuple[str, bool]:
        """Returns (type name, already built) for a structure with the canonical key."""
        ck = f"{kind}:{key}"
        if ck in self._by_canon:
            return self._by_canon[ck], True
        taken = set(self.messages) | set(self.enums) | set(self._by_canon.values())
        name = hint
        if hint in GENERIC_NAMES and parent:
            base = re.sub(r"(Request|Response)$", "", parent)
            if base.endswith(f"{hint}Tool"):
                name = f"{base}Config"  # the settings object inside a tool variant: WebhookToolConfig
            else:
                name = hint if base.endswith(hint) else f"{base}{hint}"
        if name in taken:
            name = f"{parent}{hint}" if parent and not hint.startswith(parent) else hint
            n = 2
            base = name
            while name in taken:
                name = f"{base}{n}"
                n += 1
        self._by_canon[ck] = name
        return name, False

    # -- enums ----------------------------------------------------------------------------------------
    def enum(self, values: list[str], prop: str, parent: str, doc_prop: str | None = None) -> str:
        """The name of the enum for `values`, building it on first use (its zero value is `*_UNSPECIFIED`)."""
        name, built = self._claim("enum", canon(values), pascal(prop), parent)
        if built:
            return name
        prefix = upper_snake(name)
        used = {f"{prefix}_UNSPECIFIED"}
        unset = "Not set: left out of a request (Telnyx applies its default), or absent from a response."
        out = [(f"{prefix}_UNSPECIFIED", "", unset)]
        for wire in values:
            vname = f"{prefix}_{upper_snake(wire) or 'EMPTY'}"
            if vname in used:
                vname = f"{vname}_{'LOWER' if wire.islower() else 'ALT'}"
            used.add(vname)
            comment = (
                docs.ENUM_VALUES.get(f"{doc_prop or prop}:{wire}")
                or docs.ENUM_VALUES.get(f"{prop}:{wire}")
                or f"The value `{wire}`."
            )
            out.append((vname, wire, comment))
        self.enums[name] = Enum(name, field_doc(parent, prop), out)
        return name

    # -- messages -------------------------------------------------------------------------------------
    def message(
        self,
        schema: Schema,
        hint: str,
        parent_prop: str,
        parent: str,
        doc: str | None = None,
        discriminator: tuple[str, str] | None = None,
    ) -> str:
        """The name of the message for an object schema, building it and its fields on first use."""
        key = canon([schema, discriminator])
        name, built = self._claim("msg", key, hint, parent)
        if built:
            return name
        if doc is None:
            doc = field_doc("", parent_prop) if parent_prop else f"The `{hint}` object."
        msg = Message(name, doc, discriminator=discriminator)
        self.messages[name] = msg
        required = set(schema.get("required", []))
        for prop, sub in schema.get("properties", {}).items():
            if discriminator and prop == discriminator[0]:
                continue
            self.add_property(msg, prop, sub, prop in required, context=parent_prop)
        return name

    def add_property(self, msg: Message, prop: str, schema: Schema, required: bool, context: str) -> None:
        """Add the field (or union oneof) for one property of an object schema to `msg`."""
        fname = snake(prop)
        wire = prop if fname != prop else None
        doc = field_doc(context, prop)
        if "oneOf" in schema:
            self.add_union_oneof(msg, prop, fname, wire, schema["oneOf"], doc, required)
            return
        ftype, label = self.type_of(schema, prop, msg.name)
        msg.fields.append(Field(fname, ftype, msg.next_number(), doc, label, wire, required))
        msg.refs.add(ftype)

    def type_of(self, schema: Schema, prop: str, parent: str, doc_prop: str | None = None) -> tuple[str, str]:
        """Returns (proto type, label) for a non-union schema."""
        if "enum" in schema:
            values = schema["enum"]
            if all(isinstance(v, bool) for v in values):
                return "bool", "optional"
            if all(isinstance(v, int) for v in values):
                return "int32", "optional"
            if len(values) > MAX_ENUM_VALUES:
                self.open_enums.append(prop)
                return "string", "optional"
            return self.enum(schema["enum"], prop, parent, doc_prop), "optional"
        t = schema.get("type")
        if t in SCALARS:
            return SCALARS[t], "optional"
        if t == "any":
            return "google.protobuf.Value", ""
        if t == "object":
            return self.message(schema, pascal(prop), prop, parent), ""
        if t == "array":
            item = schema["items"]
            hint = singular(prop)
            if "oneOf" in item:
                return self.union_message(item["oneOf"], hint, prop, parent), "repeated"
            if item.get("type") == "array":
                return self.list_message(item, hint, prop, parent), "repeated"
            if item.get("type") == "map":
                vt = item["values"]
                if vt.get("type") == "any":
                    return "google.protobuf.Struct", "repeated"
                raise SystemExit(f"unsupported array of typed maps at {parent}.{prop}")
            itype, _ = self.type_of(item, hint, parent, doc_prop=prop)
            return itype, "repeated"
        if t == "map":
            vt = schema["values"]
            if vt.get("type") == "any":
                return "google.protobuf.Struct", ""
            if "oneOf" in vt:
                union = self.union_message(vt["oneOf"], pascal(singular(prop)) + "Value", prop, parent, True)
                return f"map<string, {union}>", ""
            if vt.get("type") == "array":
                return f"map<string, {self.list_message(vt, singular(prop), prop, parent)}>", ""
            vtype, _ = self.type_of(vt, singular(prop), parent)
            if vtype.startswith("map<"):
                raise SystemExit(f"unsupported map value at {parent}.{prop}")
            return f"map<string, {vtype}>", ""
        raise SystemExit(f"unsupported schema at {parent}.{prop}: {schema}")

    # -- unions ---------------------------------------------------------------------------------------
    @staticmethod
    def discriminator_of(variants: list[Schema]) -> str | None:
        """The property whose one enum value tells each object variant apart (`type` if it can), if any."""
        if not all(v.get("type") == "object" for v in variants):
            return None
        candidates = []
        for prop in variants[0].get("properties", {}):
            vals = []
            for v in variants:
                s = v.get("properties", {}).get(prop)
                if not s or len(s.get("enum", [])) != 1:
                    break
                vals.append(s["enum"][0])
            else:
                if len(set(vals)) == len(vals):
                    candidates.append(prop)
        if "type" in candidates:
            return "type"
        return candidates[0] if candidates else None

    def variants(self, variants: list[Schema], prop: str, parent: str) -> list[tuple[str, str, str]]:
        """Returns (member suffix, proto type, comment) for each variant of a union."""
        disc = self.discriminator_of(variants)
        out = []
        for i, v in enumerate(variants):
            t = v.get("type")
            if t == "object":
                if disc:
                    value = v["properties"][disc]["enum"][0]
                    hint = pascal(value) + pascal(singular(prop))
                    mtype = self.message(v, hint, prop, parent, doc=None, discriminator=(disc, value))
                    self.messages[mtype].doc = (
                        f'The `{value}` variant of `{prop}` (sent with `"{disc}": "{value}"`). '
                        + field_doc("", prop)
                    )
                    out.append((snake(value), mtype, f"Use the `{value}` variant."))
                else:
                    mtype = self.message(v, f"{pascal(singular(prop))}Variant{i + 1}", prop, parent)
                    out.append((f"variant{i + 1}", mtype, f"Variant {i + 1} of the union."))
            elif t == "array":
                ltype = self.list_message(v, singular(prop), prop, parent)
                out.append(("list", ltype, "A list of values."))
            elif t == "map":
                out.append(("map", "google.protobuf.Struct", "An object with free-form keys."))
            elif t in SCALARS:
                out.append((t, SCALARS[t], f"A single {t} value."))
            else:
                raise SystemExit(f"unsupported union variant at {parent}.{prop}: {v}")
        return out

    def add_union_oneof(
        self,
        msg: Message,
        prop: str,
        fname: str,
        wire: str | None,
        variants: list[Schema],
        doc: str,
        required: bool,
    ) -> None:
        """Add a property that takes several shapes to `msg` as a oneof with one member per variant."""
        msg.oneofs.append(Oneof(fname, doc, wire, required))
        for suffix, vtype, comment in self.variants(variants, prop, msg.name):
            msg.fields.append(
                Field(f"{fname}_{suffix}", vtype, msg.next_number(), comment, "", None, False, fname)
            )
            msg.refs.add(vtype)

    def union_message(
        self, variants: list[Schema], hint: str, prop: str, parent: str, raw_hint: bool = False
    ) -> str:
        """The name of a message wrapping one union value (list items, map values), built on first use."""
        name, built = self._claim("union", canon(variants), hint if raw_hint else pascal(hint), parent)
        if built:
            return name
        msg = Message(
            name,
            f"One value of `{prop}`, which may take several shapes. " + field_doc("", prop),
            shape="WIRE_SHAPE_UNION",
        )
        self.messages[name] = msg
        oneof = snake(singular(prop)) if snake(singular(prop)) != "value" else "kind"
        msg.oneofs.append(Oneof(oneof, "The shape this value takes; exactly one is set."))
        for suffix, vtype, comment in self.variants(variants, prop, name):
            msg.fields.append(Field(suffix, vtype, msg.next_number(), comment, "", None, False, oneof))
            msg.refs.add(vtype)
        return name

    def list_message(self, schema: Schema, hint: str, prop: str, parent: str) -> str:
        """The name of a message wrapping a list (in a list or a map of lists), built on first use."""
        name, built = self._claim("list", canon(schema), pascal(hint) + "List", parent)
        if built:
            return name
        msg = Message(name, f"A list form of `{prop}`.", shape="WIRE_SHAPE_LIST")
        self.messages[name] = msg
        itype, _ = self.type_of(schema["items"], hint, name)
        msg.fields.append(Field("values", itype, 1, "The items, in order.", "repeated"))
        msg.refs.add(itype)
        return name


# -- building the contract ------------------------------------------------------------------------------
@dataclass
class Rpc:
    """One RPC of a service, with the HTTP rule that maps it onto its Telnyx endpoint."""

    name: str
    doc: str
    http_method: str
    path: str
    body: bool
    request: str
    response: str
    outcome: tuple[tuple[str, ...], tuple[str, ...]] | None = None


def build(ref: Schema) -> tuple[Builder, dict[str, list[Rpc]], list[tuple[str, str, str]]]:
    """The messages and enums, the RPCs per service, and (event type, payload, doc) per webhook event."""
    b = Builder()
    services: dict[str, list[Rpc]] = {}
    file_of_root: dict[str, str] = {}
    for ep in ref["endpoints"]:
        key = f"{ep['resource']}.{ep['name']}"
        service, fname = SERVICES[ep["resource"]]
        rpc = RPC_NAMES.get(key, pascal(ep["name"]))
        req = Message(f"{rpc}Request", f"Request message for `{service}.{rpc}`.")
        b.messages[req.name] = req
        body_schema = ep.get("body") or ep.get("query") or {"properties": {}}
        body_props = body_schema.get("properties", {})
        for pp in ep["path_params"]:
            req.fields.append(Field(pp, "string", req.next_number(), field_doc("path", pp), "", None, True))
        required = set(body_schema.get("required", []))
        for prop, sub in body_props.items():
            if prop in ("page[number]", "page[size]"):
                continue
            if prop in ep["path_params"]:
                # The body repeats a path parameter's name (bridge): keep the wire name, rename the field.
                n = req.next_number()
                req.fields.append(
                    Field(
                        f"other_{prop}",
                        "string",
                        n,
                        field_doc("bridge", prop),
                        "optional",
                        prop,
                        prop in required,
                    )
                )
                continue
            b.add_property(req, prop, sub, prop in required, context=prop)
        list_item = LIST_ITEMS.get(key)
        if list_item:
            req.fields.append(
                Field(
                    "page_size",
                    "int32",
                    req.next_number(),
                    "How many items to return per page (Telnyx's `page[size]`); unset uses "
                    "Telnyx's default of 20, the maximum is 250.",
                    "",
                )
            )
            req.fields.append(
                Field(
                    "page_token",
                    "string",
                    req.next_number(),
                    "The `next_page_token` of a previous response, to read the following page; "
                    "empty for the first page.",
                    "",
                )
            )
            items_field, item_name = list_item
            item_schema = ep.get("response_item") or ep["response"]
            item = b.message(item_schema, item_name, items_field, "", doc=field_doc("item", item_name))
            b.messages[item].doc = docs.FIELDS.get(f"<{item_name}>", f"One {item_name}.")
            resp = Message(f"{rpc}Response", f"Response message for `{service}.{rpc}`: one page of results.")
            resp.fields.append(
                Field(
                    items_field, item, 1, "The items on this page, in the order Telnyx returned.", "repeated"
                )
            )
            resp.fields.append(
                Field(
                    "next_page_token",
                    "string",
                    2,
                    "Pass this as `page_token` to read the next page; empty on the last page.",
                    "",
                )
            )
            resp.fields.append(
                Field("total_size", "int32", 3, "How many items match the request across all pages.", "")
            )
            resp.refs.add(item)
            b.messages[resp.name] = resp
            response = resp.name
        else:
            data = ep["response"]["properties"]["data"]
            if ep["resource"] == "callControlApplications":
                response = b.message(
                    data,
                    "CallControlApplication",
                    "data",
                    "",
                    doc=docs.FIELDS.get("<CallControlApplication>", "A call control application."),
                )
            else:
                resp = Message(f"{rpc}Response", f"Response message for `{service}.{rpc}`.")
                b.messages[resp.name] = resp
                dreq = set(data.get("required", []))
                for prop, sub in data.get("properties", {}).items():
                    b.add_property(resp, prop, sub, prop in dreq, context=prop)
                response = resp.name
        for f in req.fields:
            req.refs.add(f.type)
        doc = docs.RPCS.get(key, f"Calls `{ep['method']} {ep['path']}`.")
        services.setdefault(service, []).append(
            Rpc(rpc, doc, ep["method"], ep["path"], "body" in ep, req.name, response, OUTCOMES.get(key))
        )
        for root in (req.name, response):
            file_of_root[root] = fname
    events = []
    for ev in ref["webhook_events"]:
        name = pascal(ev["event_type"]) + "Payload"
        payload = ev["data"]["properties"]["payload"]
        msg = b.message(payload, name, "payload", "", doc=docs.EVENTS.get(ev["event_type"], ev["event_type"]))
        if msg != name:
            # Identical payloads share one message; give each event type its own name anyway.
            alias = Message(name, docs.EVENTS.get(ev["event_type"], ev["event_type"]))
            src = b.messages[msg]
            alias.fields = list(src.fields)
            alias.oneofs = list(src.oneofs)
            alias.refs = set(src.refs)
            b.messages[name] = alias
            msg = name
        events.append((ev["event_type"], msg, docs.EVENTS.get(ev["event_type"], "")))
        file_of_root[msg] = "events.proto"
    assign_files(b, file_of_root)
    return b, services, events


def assign_files(b: Builder, file_of_root: dict[str, str]) -> None:
    """Put each message and enum in the file of the roots that reach it, or `common.proto` when several do."""
    reach: dict[str, set[str]] = {}

    def visit(t: str, f: str, seen: set[str]) -> None:
        t = t.removeprefix("map<string, ").removesuffix(">")
        if t in seen or (t not in b.messages and t not in b.enums):
            return
        seen.add(t)
        reach.setdefault(t, set()).add(f)
        if t in b.messages:
            for r in b.messages[t].refs:
                visit(r, f, seen)

    for root, f in file_of_root.items():
        visit(root, f, set())
    for name, files in reach.items():
        target = next(iter(files)) if len(files) == 1 else "common.proto"
        (b.messages.get(name) or b.enums[name]).file = target
    for name, m in b.messages.items():
        if not m.file:
            raise SystemExit(f"unreachable message {name}")


# -- rendering ----------------------------------------------------------------------------------------------
def comment(text: str, indent: str) -> list[str]:
    """`text` as `//` comment lines wrapped to fit after `indent`."""
    words = text.replace("*/", "* /").split()
    lines, cur = [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > 96 - len(indent):
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    if cur:
        lines.append(cur)
    return [f"{indent}// {line}" for line in lines]


STRUCT_NUMBERS = (
    " Its numbers are doubles, exact for integers up to 2^53 (a larger integer becomes the nearest"
    " double); sent to Telnyx, an integral number is written as a JSON integer."
)
"""Appended to the comment of every free-form object field (`google.protobuf.Struct`) of a request or
response message (not of webhook payloads)."""


def render_field(f: Field, indent: str, *, contract: bool = True) -> list[str]:
    """The proto lines of one field, its comment first (`contract`: of a request or response message)."""
    doc = f.doc + STRUCT_NUMBERS if contract and f.type == "google.protobuf.Struct" else f.doc
    opts = []
    if f.required:
        opts.append("(google.api.field_behavior) = REQUIRED")
    if f.wire_name:
        opts.append(f'(wire_name) = "{f.wire_name}"')
    label = f"{f.label} " if f.label else ""
    suffix = f" [{', '.join(opts)}]" if opts else ""
    return comment(doc, indent) + [f"{indent}{label}{f.type} {f.name} = {f.number}{suffix};"]


def render_message(m: Message) -> list[str]:
    """The proto lines of one message, oneofs and options included."""
    out = comment(m.doc, "") + [f"message {m.name} {{"]
    if m.shape:
        out.append(f"  option (wire_shape) = {m.shape};")
    if m.discriminator:
        out.append(
            f'  option (discriminator) = {{field: "{m.discriminator[0]}" value: "{m.discriminator[1]}"}};'
        )
    if m.shape or m.discriminator:
        out.append("")
    emitted: set[str] = set()
    for f in m.fields:
        if f.oneof is None:
            out += render_field(f, "  ", contract=m.file != "events.proto")
            continue
        if f.oneof in emitted:
            continue
        emitted.add(f.oneof)
        o = next(o for o in m.oneofs if o.name == f.oneof)
        doc = o.doc + (" Required: set exactly one member." if o.required else "")
        out += comment(doc, "  ") + [f"  oneof {o.name} {{"]
        if o.wire_name:
            out.append(f'    option (oneof_wire_name) = "{o.wire_name}";')
        if o.required:
            out.append("    option (oneof_required) = true;")
        for member in (x for x in m.fields if x.oneof == o.name):
            out += render_field(member, "    ", contract=m.file != "events.proto")
        out.append("  }")
    out.append("}")
    return out


def render_enum(e: Enum) -> list[str]:
    """The proto lines of one enum; a `wire_value` option marks values whose wire string is not derived."""
    out = comment(e.doc, "") + [f"enum {e.name} {{"]
    prefix = upper_snake(e.name)
    for vname, wire, doc in e.values:
        out += comment(doc, "  ")
        derived = vname[len(prefix) + 1 :].lower()
        opt = f' [(wire_value) = "{wire}"]' if wire and derived != wire else ""
        number = e.values.index((vname, wire, doc))
        out.append(f"  {vname} = {number}{opt};")
    out.append("}")
    return out


def header(fname: str, imports: set[str], doc: list[str]) -> list[str]:
    """The first lines of a proto file: its comment, syntax, package, imports and file options."""
    outer = pascal(fname.removesuffix(".proto")) + "Proto"
    out = [*(f"// {d}" for d in doc), 'syntax = "proto3";', "", "package voicesvc.v1;", ""]
    out += [f'import "{i}";' for i in sorted(imports)]
    out += ["", *FILE_OPTIONS.format(outer=outer).splitlines(), ""]
    return out


def imports_for(body: list[str], fname: str, b: Builder) -> set[str]:
    """The imports a rendered proto file body needs."""
    text = "\n".join(body)
    imps = set()
    if "google.api.http" in text:
        imps.add("google/api/annotations.proto")
    if "google.api.field_behavior" in text:
        imps.add("google/api/field_behavior.proto")
    if "google.protobuf.Struct" in text or "google.protobuf.Value" in text:
        imps.add("google/protobuf/struct.proto")
    if "google.protobuf.Timestamp" in text:
        imps.add("google/protobuf/timestamp.proto")
    if "google.protobuf.Duration" in text:
        imps.add("google/protobuf/duration.proto")
    if re.search(
        r"\((wire_name|wire_value|wire_shape|discriminator|oneof_wire_name|oneof_required|outcome)\)", text
    ):
        imps.add("voicesvc/v1/options.proto")
    if fname != "common.proto":
        common = [n for n, m in b.messages.items() if m.file == "common.proto"]
        common += [n for n, e in b.enums.items() if e.file == "common.proto"]
        if any(re.search(rf"\b{n}\b", text) for n in common):
            imps.add("voicesvc/v1/common.proto")
    return imps


FILE_DOCS = {
    "common.proto": [
        "Types shared by several voicesvc.v1 services: assistant, voice, transcription and",
        "relay settings.",
    ],
    "call_control.proto": ["The CallControl service: dial, call status and every command on a live call."],
    "call_control_applications.proto": [
        "The CallControlApplications service: CRUD for call control applications."
    ],
    "call_events.proto": ["The CallEvents service: the recorded history of commands and webhooks."],
    "connections.proto": ["The Connections service: active calls of a connection."],
    "events.proto": ["The EventStream service and the typed payload of every Telnyx call webhook."],
    COMMANDS_FILE: [
        "The commands `Calls.ExecuteCommand` sends and waits for: every CallControl command whose",
        "outcome Telnyx reports by webhook (the RPCs with a `(voicesvc.v1.outcome)` option).",
    ],
}


def render_commands(rpcs: list[Rpc]) -> list[str]:
    """`ExecuteCommandRequest` and `ExecuteCommandResponse`: a member per command with an outcome.

    A member is named after its RPC (`SpeakText` → `speak_text`) and numbered by the RPC's place in the
    CallControl service, so declaring an outcome on another command later adds a member without
    renumbering the others.
    """
    members = [(i + 1, r) for i, r in enumerate(rpcs) if r.outcome is not None]
    out = comment(
        "Request message for `Calls.ExecuteCommand`: one CallControl command, exactly as its own RPC "
        "takes it. Only commands whose outcome Telnyx reports by webhook are members.",
        "",
    )
    out += ["message ExecuteCommandRequest {"]
    out += comment("The command to send. Required: set exactly one member.", "  ")
    out += ["  oneof command {"]
    for number, r in members:
        out += comment(f"Sends `CallControl.{r.name}` and waits for {_outcome_text(r)}.", "    ")
        out.append(f"    {r.request} {snake(r.name)} = {number};")
    out += ["  }", "}", ""]
    out += comment(
        "Response message for `Calls.ExecuteCommand`: the command's own response and the webhook event "
        "that reported its outcome.",
        "",
    )
    out += ["message ExecuteCommandResponse {"]
    out += comment("The response of the command's RPC; the member named like the request's.", "  ")
    out += ["  oneof response {"]
    for number, r in members:
        out += comment(f"The response of `CallControl.{r.name}`.", "    ")
        out.append(f"    {r.response} {snake(r.name)} = {number};")
    out += ["  }"]
    out += comment(
        "The outcome event, typed (`outcome.call_speak_ended` …), as `EventStream.WatchEvents` delivers it.",
        "  ",
    )
    out += ["  Event outcome = 200;"]
    out += comment(
        "True when the outcome is one of the command's success events, false for a failure event "
        "(`call.refer.failed`, `streaming.failed` …).",
        "  ",
    )
    out += ["  bool succeeded = 201;", "}"]
    return out


def _outcome_text(r: Rpc) -> str:
    assert r.outcome is not None
    success, failure = r.outcome
    text = " or ".join(f"`{t}`" for t in success)
    if failure:
        text += " (failure: " + ", ".join(f"`{t}`" for t in failure) + ")"
    return text


def render_service(service: str, rpcs: list[Rpc]) -> list[str]:
    """The proto lines of one service with the HTTP rule of every RPC."""
    out = comment(" ".join(SERVICE_DOCS[service]), "") + [f"service {service} {{"]
    for r in rpcs:
        out += comment(r.doc, "  ")
        out.append(f"  rpc {r.name}({r.request}) returns ({r.response}) {{")
        verb = r.http_method.lower()
        body = ' body: "*"' if r.body else ""
        out.append(f'    option (google.api.http) = {{{verb}: "{r.path}"{body}}};')
        if r.outcome is not None:
            fields = [f'success: "{t}"' for t in r.outcome[0]] + [f'failure: "{t}"' for t in r.outcome[1]]
            out.append(f"    option (outcome) = {{{' '.join(fields)}}};")
        out.append("  }")
    out.append("}")
    return out


def main() -> None:
    """Write every proto file of the contract from the reference into protos/voicesvc/v1."""
    ref = json.loads(REFERENCE.read_text())
    b, services, events = build(ref)
    files: dict[str, list[str]] = {}
    for service, rpcs in services.items():
        fname = next(f for s, f in SERVICES.values() if s == service)
        files.setdefault(fname, []).extend(render_service(service, rpcs) + [""])
    events_text = Path(__file__).with_name("event_stream.proto.in").read_text()
    members = []
    for i, (etype, msg, _doc) in enumerate(events):
        members += comment(f"Payload of `{etype}`.", "    ")
        members.append(f"    {msg} {snake(etype.replace('.', '_'))} = {100 + i};")
    files.setdefault("events.proto", []).extend(
        events_text.replace("    @@MEMBERS@@", "\n".join(members)).splitlines()
    )
    files["events.proto"].append("")
    for name in sorted(b.messages, key=lambda n: list(b.messages).index(n)):
        m = b.messages[name]
        files.setdefault(m.file, []).extend(render_message(m) + [""])
    for e in b.enums.values():
        files.setdefault(e.file, []).extend(render_enum(e) + [""])
    files[COMMANDS_FILE] = render_commands(services["CallControl"])
    for fname, body in files.items():
        imports = imports_for(body, fname, b)
        if fname == COMMANDS_FILE:
            imports = {"voicesvc/v1/call_control.proto", "voicesvc/v1/events.proto"}
        text = "\n".join(header(fname, imports, FILE_DOCS[fname]) + body).rstrip() + "\n"
        (OUT / fname).write_text(text)
        print(f"wrote {fname}: {len(text.splitlines())} lines")
    print(f"messages {len(b.messages)}, enums {len(b.enums)}")
    print(f"open enums kept as strings: {sorted(set(b.open_enums))}")


if __name__ == "__main__":
    main()
