"""Hostile input to every RPC the server offers: never `UNKNOWN` or `INTERNAL`, authentication first.

Every method of every service (found from the descriptors, so services added later are covered too) gets
undecodable bytes, invalid UTF-8, wrong wire types, nesting beyond protobuf's limit, truncated and
bit-flipped requests, and well-formed requests full of hostile values. With a valid token each must get a
precise status; without one, or with a wrong one, `UNAUTHENTICATED` whatever the bytes.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2

import voicesvc.v1
from tests.reliability.support import FIGURES, SecretScan, captured_service_logs
from tests.support.stack import API_KEY, start_stack

TOKEN = "tok_reliability_0123456789abcdef"
WRONG_TOKEN = "tok_wrong_0123456789abcdef"
SEED = 424242
CALL_TIMEOUT_S = 10.0
CONCURRENCY = 16
REFLECTION_REFUSALS = 200
FORBIDDEN = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL}
HOSTILE_STRINGS = [
    "../../etc/passwd",
    "a/b?c=d#e",
    "%2e%2e%2f",
    "\x00",
    "é😀\u202e",
    " ",
    "x" * 70_000,
    "{id}",
]


def _services() -> list[tuple[str, list[MethodDescriptor]]]:
    for module in pkgutil.iter_modules(voicesvc.v1.__path__):
        if module.name.endswith("_pb2"):
            importlib.import_module(f"voicesvc.v1.{module.name}")
    pool = descriptor_pool.Default()
    found: list[tuple[str, list[MethodDescriptor]]] = []
    names = set()
    for module in pkgutil.iter_modules(voicesvc.v1.__path__):
        if module.name.endswith("_pb2"):
            for service in importlib.import_module(
                f"voicesvc.v1.{module.name}"
            ).DESCRIPTOR.services_by_name.values():
                names.add(service.full_name)
    names |= {health_pb2.DESCRIPTOR.services_by_name["Health"].full_name}
    names |= {reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"].full_name}
    for name in sorted(names):
        service = pool.FindServiceByName(name)
        found.append((name, list(service.methods)))
    return found


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, wire_type: int, payload: bytes = b"") -> bytes:
    key = _varint(number << 3 | wire_type)
    if wire_type == 2:
        return key + _varint(len(payload)) + payload
    return key + payload


def _deep_struct(levels: int) -> bytes:
    """A `google.protobuf.Struct` nesting `levels` structs: {"a": {"a": …}}."""
    struct = _field(1, 2, _field(1, 2, b"a") + _field(2, 2, _field(3, 2, b"leaf")))
    for _ in range(levels - 1):
        value = _field(5, 2, struct)  # Value.struct_value
        struct = _field(1, 2, _field(1, 2, b"a") + _field(2, 2, value))  # Struct.fields entry
    return struct


def _deep_value(levels: int) -> bytes:
    """A `google.protobuf.Value` holding `_deep_struct(levels)`."""
    return _field(5, 2, _deep_struct(levels))


def _struct_paths(descriptor: Descriptor, depth: int = 0) -> Iterator[list[FieldDescriptor]]:
    """Paths to the Struct/Value fields of a message (a few levels down)."""
    if depth > 3:
        return
    for field in descriptor.fields:
        if field.message_type is None:
            continue
        if field.message_type.full_name in ("google.protobuf.Struct", "google.protobuf.Value"):
            yield [field]
        elif not field.message_type.GetOptions().map_entry:
            for rest in _struct_paths(field.message_type, depth + 1):
                yield [field, *rest]


def _wrap(path: list[FieldDescriptor], leaf: bytes) -> bytes:
    data = leaf
    for field in reversed(path):
        data = _field(field.number, 2, data)
    return data


def _message_class(descriptor: Descriptor) -> type[Message]:
    return message_factory.GetMessageClass(descriptor)


def _populated(descriptor: Descriptor, rng: random.Random, text: str | None = None) -> Message:
    """A request with every top-level scalar string set (hostile or plain) and numbers at their edges."""
    message = _message_class(descriptor)()
    for field in descriptor.fields:
        if field.is_repeated or (field.containing_oneof is not None and rng.random() < 0.5):
            continue
        if field.type == FieldDescriptor.TYPE_STRING:
            setattr(message, field.name, text if text is not None else f"{field.name}-value")
        elif field.type in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32):
            setattr(message, field.name, rng.choice([-(2**31), -1, 0, 2**31 - 1]))
        elif field.type in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64):
            setattr(message, field.name, rng.choice([-(2**63), -1, 2**63 - 1]))
        elif field.type in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_UINT64):
            setattr(message, field.name, 2**32 - 1)
        elif field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            setattr(message, field.name, rng.choice([float("nan"), float("inf"), -0.0, 1e308]))
        elif field.type == FieldDescriptor.TYPE_BOOL:
            setattr(message, field.name, True)
        elif field.type == FieldDescriptor.TYPE_ENUM:
            setattr(message, field.name, rng.choice([9999, -1, 1]))
    return message


@dataclass(frozen=True)
class Probe:
    """One hostile request for one method."""

    method: str
    kind: str
    data: bytes
    streaming_response: bool
    streaming_request: bool


def probes_for(method: MethodDescriptor, rng: random.Random) -> list[Probe]:
    """Every hostile request made for `method`."""
    service = method.containing_service.full_name
    path = f"/{service}/{method.name}"
    payloads: list[tuple[str, bytes]] = [
        ("ff_ff_ff_ff", b"\xff\xff\xff\xff"),
        ("random_bytes", rng.randbytes(rng.randint(1, 64))),
        ("truncated_varint", b"\x08\xff"),
        ("length_beyond_end", b"\x0a\x7f abc"),
        ("group_wire_type", b"\x0b\x0c"),
        ("field_number_zero", b"\x02\x01a"),
    ]
    descriptor = method.input_type
    strings = [f for f in descriptor.fields if f.type == FieldDescriptor.TYPE_STRING]
    for field in strings[:4]:
        payloads.append((f"invalid_utf8:{field.name}", _field(field.number, 2, b"\xff\xfe\xc3\x28")))
        payloads.append((f"wrong_wire_type:{field.name}", _field(field.number, 0, _varint(7))))
    for struct_path in list(_struct_paths(descriptor))[:2]:
        leaf_type = struct_path[-1].message_type
        is_struct = leaf_type is not None and leaf_type.full_name == "google.protobuf.Struct"
        leaf = _deep_struct(40) if is_struct else _deep_value(40)
        payloads.append((f"deep_struct:{struct_path[-1].name}", _wrap(struct_path, leaf)))
    valid = _populated(descriptor, rng).SerializeToString()
    if valid:
        payloads.append(("truncated", valid[: max(1, len(valid) // 2)]))
        flipped = bytearray(valid)
        for _ in range(3):
            flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        payloads.append(("bit_flipped", bytes(flipped)))
    for text in HOSTILE_STRINGS:
        payloads.append(
            (f"hostile_values:{text[:12]!r}", _populated(descriptor, rng, text).SerializeToString())
        )
    return [
        Probe(path, kind, data, method.server_streaming, method.client_streaming) for kind, data in payloads
    ]


def _identity(data: bytes) -> bytes:
    return data


async def call(
    channel: grpc.aio.Channel, probe: Probe, metadata: tuple[tuple[str, str], ...]
) -> grpc.StatusCode:
    """Send the probe and answer the status it ends with (OK if the server answered normally)."""
    if probe.streaming_request:
        exchange = channel.stream_stream(probe.method, _identity, _identity)(
            iter([probe.data]), metadata=metadata, timeout=CALL_TIMEOUT_S
        )
        async for _ in exchange:
            exchange.cancel()
            return grpc.StatusCode.OK
        return await exchange.code()
    if probe.streaming_response:
        reader = channel.unary_stream(probe.method, _identity, _identity)(
            probe.data, metadata=metadata, timeout=CALL_TIMEOUT_S
        )
        async for _ in reader:
            reader.cancel()
            return grpc.StatusCode.OK
        return await reader.code()
    await channel.unary_unary(probe.method, _identity, _identity)(
        probe.data, metadata=metadata, timeout=CALL_TIMEOUT_S
    )
    return grpc.StatusCode.OK


async def test_hostile_rpc_input_never_unknown_or_internal_and_authentication_comes_first(
    scan: SecretScan,
) -> None:
    for secret in (API_KEY, TOKEN, WRONG_TOKEN):
        scan.add_secret(secret)
    rng = random.Random(SEED)
    probes = [probe for _, methods in _services() for method in methods for probe in probes_for(method, rng)]
    codes: Counter[str] = Counter()
    forbidden: list[str] = []
    unauthenticated_wrong: list[str] = []
    good = (("authorization", f"Bearer {TOKEN}"),)
    bad_tokens: list[tuple[tuple[str, str], ...]] = [(), (("authorization", f"Bearer {WRONG_TOKEN}"),)]
    gate = asyncio.Semaphore(CONCURRENCY)
    with captured_service_logs(scan, [API_KEY, TOKEN]):
        async with start_stack(auth__tokens=(TOKEN,)) as stack:

            async def run(probe: Probe, metadata: tuple[tuple[str, str], ...], authed: bool) -> None:
                async with gate:
                    try:
                        code = await call(stack.channel, probe, metadata)
                    except grpc.aio.AioRpcError as error:
                        scan.add_rpc_error(probe.method, error)
                        code = error.code()
                codes[code.name] += 1
                if code in FORBIDDEN:
                    forbidden.append(f"{probe.method} {probe.kind} authed={authed}: {code.name}")
                exempt = probe.method.startswith("/grpc.health.v1.Health/")
                if not authed and not exempt and code != grpc.StatusCode.UNAUTHENTICATED:
                    unauthenticated_wrong.append(f"{probe.method} {probe.kind}: {code.name}")

            jobs = [run(p, good, True) for p in probes]
            jobs += [run(p, rng.choice(bad_tokens), False) for p in probes]
            reflection = Probe(
                "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                "list_services",
                reflection_pb2.ServerReflectionRequest(list_services="").SerializeToString(),
                True,
                True,
            )
            jobs += [run(reflection, bad_tokens[1], False) for _ in range(REFLECTION_REFUSALS)]
            await asyncio.gather(*jobs)
    by_kind = Counter(
        entry.split(" ")[1].partition(":")[0] + " " + entry.rpartition(" ")[2] for entry in forbidden
    )
    assert not forbidden, (
        f"{len(forbidden)} UNKNOWN/INTERNAL answers {dict(by_kind)}, first: {forbidden[:10]}"
    )
    assert not unauthenticated_wrong, (
        f"{len(unauthenticated_wrong)} not UNAUTHENTICATED: {unauthenticated_wrong[:10]}"
    )
    FIGURES.record(
        "hostile_rpcs",
        methods=sum(len(m) for _, m in _services()),
        requests=sum(codes.values()),
        unknown_or_internal=len(forbidden),
        reflection_refusals=REFLECTION_REFUSALS,
        codes=dict(sorted(codes.items())),
    )
