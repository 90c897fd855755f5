"""`voicesvc call` and `voicesvc watch` (and `voicesvc calls`, in `calls_cli`): talk to a running voicesvc.

`call` invokes any unary RPC by name with a request in the Telnyx wire form (the JSON the Telnyx REST API
takes, path parameters such as `call_control_id` included as keys) and prints the response the same way.
It knows every RPC from the contract's descriptors, so it needs no change when the contract grows.
`watch` prints call events as JSON lines. `subscriptions …` and `pull` (worker groups) live in
`voicesvc.client.subscriptions_cli`.

Exit status: 0 on success, 1 when the RPC fails (the error and its details go to stderr), 2 when the
request cannot be built (unknown RPC, malformed JSON, a field of the wrong type).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import grpc
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from grpc import aio

from voicesvc.client import subscriptions_cli
from voicesvc.client.client import DEFAULT_TARGET, VoiceClient
from voicesvc.client.errors import describe_error
from voicesvc.options import Option, OptionError, add_options, resolve
from voicesvc.transcode import descriptors as wire_descriptors
from voicesvc.transcode import wire
from voicesvc.transcode.routes import BY_METHOD, ROUTES, Route
from voicesvc.v1 import events_pb2

EXIT_RPC_ERROR = 1
EXIT_BAD_INPUT = 2
TARGET_ENV = "VOICESVC_TARGET"
TOKEN_ENV = "VOICESVC_TOKEN"


class InputError(Exception):
    """The command line does not describe a request that can be sent."""


# -- argument parsing ------------------------------------------------------------------------------
CONNECTION_OPTIONS: tuple[Option, ...] = (
    Option("target", "--target", TARGET_ENV, group="connection", metavar="HOST:PORT",
           help="voicesvc gRPC address"),
    Option("token", "--token", TOKEN_ENV, group="connection", metavar="TOKEN", secret=True,
           help="bearer token sent as `authorization: Bearer …`"),
    Option("timeout_s", "--timeout", "VOICESVC_TIMEOUT", float, "connection", metavar="SECONDS",
           help="deadline of a unary call"),
    Option("tls", "--tls", "VOICESVC_TLS", group="connection", switch=True,
           help="connect with TLS, trusting the system's root certificates (or --ca-cert)"),
    Option("ca_cert", "--ca-cert", "VOICESVC_CA_CERT", Path, "connection", metavar="PEM",
           help="CA bundle to verify the server with; implies --tls"),
    Option("client_cert", "--client-cert", "VOICESVC_CLIENT_CERT", Path, "connection", metavar="PEM",
           help="client certificate chain for mutual TLS (with --client-key); implies --tls"),
    Option("client_key", "--client-key", "VOICESVC_CLIENT_KEY", Path, "connection", metavar="PEM",
           help="private key of --client-cert"),
)  # fmt: skip
CONNECTION_DEFAULTS: dict[str, Any] = {
    "target": DEFAULT_TARGET,
    "token": None,
    "timeout_s": 10.0,
    "tls": False,
    "ca_cert": None,
    "client_cert": None,
    "client_key": None,
}


def _connection_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    add_options(parent, CONNECTION_OPTIONS, CONNECTION_DEFAULTS)
    return parent


def apply_connection_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> None:
    """Fill the connection settings of `args`: flag, else environment variable, else default."""
    try:
        values = {**CONNECTION_DEFAULTS, **resolve(CONNECTION_OPTIONS, args, environ)}
    except OptionError as exc:
        raise InputError(str(exc)) from None
    for name, value in values.items():
        setattr(args, name, value)


def channel_credentials(args: argparse.Namespace) -> grpc.ChannelCredentials | None:
    """TLS credentials from the connection options, or None for a plaintext channel."""
    if (args.client_cert is None) != (args.client_key is None):
        raise InputError("--client-cert and --client-key go together")
    if not (args.tls or args.ca_cert or args.client_cert):
        return None
    try:
        return grpc.ssl_channel_credentials(
            root_certificates=args.ca_cert.read_bytes() if args.ca_cert else None,
            private_key=args.client_key.read_bytes() if args.client_key else None,
            certificate_chain=args.client_cert.read_bytes() if args.client_cert else None,
        )
    except OSError as exc:
        raise InputError(f"cannot read a TLS file: {exc}") from exc


def open_client(args: argparse.Namespace) -> VoiceClient:
    """The client the connection options describe."""
    return VoiceClient(args.target, token=args.token, timeout=args.timeout_s, tls=channel_credentials(args))


def add_arguments(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the `call`, `watch`, `subscriptions` and `pull` commands on a sub-command parser."""
    parent = _connection_options()
    call = subparsers.add_parser(
        "call",
        parents=[parent],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="invoke any RPC with a JSON request in the Telnyx wire form",
        description="Invoke an RPC with a JSON request in the Telnyx wire form and print the JSON response.",
        epilog="examples:\n"
        "  voicesvc call --list\n"
        "  voicesvc call CallControl.DialCall "
        '\'{"connection_id": "1234", "from": "+18005550101", "to": "+18005550100"}\'\n'
        "  voicesvc call CallControl.SpeakText --file speak.json\n"
        "exit status: 0 ok, 1 the RPC failed, 2 the request could not be built",
    )
    call.add_argument(
        "method",
        nargs="?",
        metavar="SERVICE.RPC",
        help="the RPC, e.g. CallControl.DialCall (a bare RPC name works too)",
    )
    call.add_argument("request", nargs="?", metavar="JSON", help="the request as a JSON object (default: {})")
    call.add_argument(
        "-f", "--file", type=Path, metavar="PATH", help="read the request JSON from a file ('-' for stdin)"
    )
    call.add_argument("--list", action="store_true", help="list every RPC with its HTTP rule and exit")
    call.add_argument("--compact", action="store_true", help="print the response on one line")
    call.set_defaults(func=run_call)

    watch = subparsers.add_parser(
        "watch",
        parents=[parent],
        help="stream call events as JSON lines",
        description="Stream call events as JSON lines: cursor, id, event_type, call_control_id and `data`, "
        "the webhook's data object as Telnyx sent it.",
    )
    watch.add_argument(
        "--type",
        dest="event_types",
        action="append",
        default=[],
        metavar="TYPE",
        help="event type, exact (call.answered) or a prefix ending in a dot (call.); repeatable",
    )
    watch.add_argument(
        "--call-control-id",
        dest="call_control_ids",
        action="append",
        default=[],
        metavar="ID",
        help="only events of this call leg; repeatable",
    )
    watch.add_argument(
        "--call-session-id",
        dest="call_session_ids",
        action="append",
        default=[],
        metavar="ID",
        help="only events of this call session; repeatable",
    )
    watch.add_argument(
        "--connection-id",
        dest="connection_ids",
        action="append",
        default=[],
        metavar="ID",
        help="only events of this connection or application; repeatable",
    )
    start = watch.add_mutually_exclusive_group()
    start.add_argument("--after", metavar="CURSOR", help="resume after this cursor")
    start.add_argument("--oldest", action="store_true", help="start at the oldest retained event")
    watch.add_argument("--limit", type=int, metavar="N", help="exit after printing N events")
    watch.add_argument(
        "--reconnect",
        action="store_true",
        help="when the server becomes unavailable, reconnect and resume after the last cursor",
    )
    watch.set_defaults(func=run_watch)
    from voicesvc.client import calls_cli

    calls_cli.add_arguments(subparsers, parent)
    subscriptions_cli.add_arguments(subparsers, parent, event_line, open_client)


# -- call ------------------------------------------------------------------------------------------
def _short_name(route: Route) -> str:
    return f"{route.service.rsplit('.', 1)[-1]}.{route.rpc}"


def find_route(name: str) -> Route:
    """The route of `Service.Rpc`, `voicesvc.v1.Service.Rpc`, `/voicesvc.v1.Service/Rpc` or a bare `Rpc`."""
    text = name.strip().lstrip("/").replace("/", ".")
    service, _, rpc = text.rpartition(".")
    if "." not in service:
        service = f"voicesvc.v1.{service}"
    route = BY_METHOD.get(f"/{service}/{rpc}")
    if route is not None:
        return route
    by_rpc = [r for r in ROUTES if r.rpc == text]
    if len(by_rpc) == 1:
        return by_rpc[0]
    known = [_short_name(r) for r in ROUTES]
    close = difflib.get_close_matches(text, known + [r.rpc for r in ROUTES], n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `voicesvc call --list` lists them"
    raise InputError(f"unknown RPC {name!r}{hint}")


def list_routes() -> list[str]:
    """One line per RPC: name, HTTP verb and Telnyx path, aligned."""
    width = max(len(_short_name(r)) for r in ROUTES)
    return [f"{_short_name(r):<{width}}  {r.http_method:<6} {r.path_template}" for r in ROUTES]


def read_request(args: argparse.Namespace) -> Any:
    """The request JSON object of `args` (`request` argument, or `--file`; `{}` when neither is given)."""
    if args.file is not None and args.request is not None:
        raise InputError("give the request either as an argument or with --file, not both")
    if args.file is not None:
        try:
            text = sys.stdin.read() if str(args.file) == "-" else args.file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    else:
        text = args.request if args.request is not None else "{}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"the request is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError("the request must be a JSON object")
    return data


def build_request(route: Route, data: Any) -> Any:
    """The request message of `route` from Telnyx wire JSON; unknown keys and wrong types are errors.

    Keys are the Telnyx JSON keys, path parameters included; at the top level a field's proto name works
    too, and wins where it is also another field's Telnyx key. So BridgeCall takes `call_control_id` (the
    leg in the path) and `other_call_control_id` (the body's `call_control_id`, the leg to bridge with).
    A wrong key is answered with the proto field(s) it could have meant.
    """
    desc = cast(Descriptor, route.request_cls.DESCRIPTOR)  # at run time always a Descriptor
    try:
        return _decode(desc, route.request_cls, data)
    except wire.WireError as exc:
        violations = [wire.Violation(v.pointer, v.detail + _suggestion(desc, v)) for v in exc.violations]
        problems = str(wire.WireError(violations))
        raise InputError(f"invalid request for {_short_name(route)}: {problems}") from None


def _renamed(desc: Descriptor) -> dict[str, FieldDescriptor]:
    """Top-level fields whose Telnyx key is not their proto name (unions aside), by proto name."""
    return {
        f.name: f
        for f in desc.fields
        if wire_descriptors.wire_name(f) != f.name
        and not (f.containing_oneof is not None and wire_descriptors.is_union_oneof(f.containing_oneof))
    }


def _decode(desc: Descriptor, cls: type[Message], data: dict[str, Any]) -> Message:
    renamed = _renamed(desc)
    proto_names = {f.name for f in desc.fields}
    by_proto = {key: renamed[key] for key in data if key in renamed}
    # A renamed field whose Telnyx key is another field's proto name is reached by its proto name only.
    shadowed = {name for name, f in renamed.items() if wire_descriptors.wire_name(f) in proto_names}
    rest = {key: value for key, value in data.items() if key not in by_proto}
    violations: list[wire.Violation] = []
    message = cls()
    try:
        wire.from_json(cls, rest, strict=True, exclude=set(by_proto) | shadowed, into=message)
    except wire.WireError as exc:
        violations += exc.violations
    for name, f in by_proto.items():
        key = wire_descriptors.wire_name(f)
        others = {other.name for other in desc.fields if other.name != name}
        try:
            wire.from_json(cls, {key: data[name]}, strict=True, exclude=others, into=message)
        except wire.WireError as exc:
            violations += [
                wire.Violation("/" + name + v.pointer.removeprefix("/" + key), v.detail)
                for v in exc.violations
            ]
    if violations:
        raise wire.WireError(violations)
    return message


def _field_names(desc: Descriptor) -> dict[str, list[str]]:
    """Every key a message takes (proto names and Telnyx keys) → the proto field names it stands for."""
    names: dict[str, list[str]] = {}
    for f in desc.fields:
        oneof = f.containing_oneof
        union = oneof is not None and wire_descriptors.is_union_oneof(oneof)
        key = (
            wire_descriptors.oneof_wire_name(oneof)
            if union and oneof is not None
            else wire_descriptors.wire_name(f)
        )
        names.setdefault(f.name, []).append(f.name)
        if key != f.name:
            names.setdefault(key, []).append(f.name)
    return names


def _message_at(desc: Descriptor, segments: Sequence[str]) -> Descriptor | None:
    for segment in segments:
        if segment.isdigit():
            continue
        candidates = _field_names(desc).get(segment, [])
        fields = [desc.fields_by_name[name] for name in candidates]
        nested = [f.message_type for f in fields if f.message_type is not None]
        if len(nested) != 1:
            return None
        desc = nested[0]
    return desc


def _suggestion(desc: Descriptor, violation: wire.Violation) -> str:
    if violation.detail != "is not a known field":
        return ""
    *parents, key = violation.pointer.lstrip("/").split("/")
    found = _message_at(desc, parents)
    if found is None:
        return ""
    names = _field_names(found)
    close = difflib.get_close_matches(key, list(names), n=3, cutoff=0.6)
    meant = sorted({name for match in close for name in names[match]})
    if meant:
        described = [_describe_field(found.fields_by_name[name]) for name in meant]
        return f" of {found.name}; did you mean {' or '.join(described)}?"
    every = ", ".join(f.name for f in found.fields)
    return f" of {found.name} (its fields: {every})"


def _describe_field(f: FieldDescriptor) -> str:
    key = wire_descriptors.wire_name(f)
    return f.name if key == f.name else f'{f.name} (Telnyx key "{key}")'


async def invoke(client: VoiceClient, route: Route, request: Any) -> Any:
    """Call one unary RPC by its route, through the client's channel (token and deadline applied)."""
    method = client.channel.unary_unary(
        route.full_method,
        request_serializer=route.request_cls.SerializeToString,
        response_deserializer=route.response_cls.FromString,
    )
    return await method(request)


async def run_call(args: argparse.Namespace) -> int:
    """Handler of `voicesvc call`."""
    if args.list:
        print("\n".join(list_routes()))
        print("EventStream.WatchEvents  (server stream; use `voicesvc watch`)")
        return 0
    try:
        if not args.method:
            raise InputError("name the RPC to call, e.g. CallControl.DialCall (or use --list)")
        route = find_route(args.method)
        request = build_request(route, read_request(args))
        client = open_client(args)
    except InputError as exc:
        print(f"voicesvc call: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        async with client:
            response = await invoke(client, route, request)
    except aio.AioRpcError as err:
        print(describe_error(err), file=sys.stderr)
        return EXIT_RPC_ERROR
    indent = None if args.compact else 2
    print(json.dumps(wire.to_json(response), indent=indent, ensure_ascii=False))
    return 0


# -- watch -----------------------------------------------------------------------------------------
def event_line(event: events_pb2.Event) -> dict[str, Any]:
    """The JSON object `voicesvc watch` prints for one event."""
    line: dict[str, Any] = {"cursor": event.cursor, "id": event.id, "event_type": event.event_type}
    if event.call_control_id:
        line["call_control_id"] = event.call_control_id
    if event.HasField("raw"):
        line["data"] = json_format.MessageToDict(event.raw)
    else:
        line["event"] = json_format.MessageToDict(event, preserving_proto_field_name=True)
    return line


async def run_watch(args: argparse.Namespace) -> int:
    """Handler of `voicesvc watch`."""
    if args.limit is not None and args.limit < 1:
        print("voicesvc watch: --limit must be at least 1", file=sys.stderr)
        return EXIT_BAD_INPUT
    printed = 0
    try:
        client = open_client(args)
    except InputError as exc:
        print(f"voicesvc watch: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        async with client:
            watch = client.watch(
                event_types=args.event_types,
                call_control_ids=args.call_control_ids,
                after_cursor=args.after,
                start_oldest=args.oldest,
                call_session_ids=args.call_session_ids,
                connection_ids=args.connection_ids,
                reconnect=args.reconnect,
            )
            async for event in watch:
                print(json.dumps(event_line(event), ensure_ascii=False), flush=True)
                printed += 1
                if args.limit is not None and printed >= args.limit:
                    break
    except aio.AioRpcError as err:
        print(describe_error(err), file=sys.stderr)
        return EXIT_RPC_ERROR
    return 0


def dispatch(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Run the parsed `call` or `watch` command; answers the exit status."""
    import asyncio

    try:
        apply_connection_settings(args, environ)
    except InputError as exc:
        print(f"voicesvc {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return int(asyncio.run(args.func(args)))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return reader_gone()


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run the client commands on their own: `python -m voicesvc.client.cli call …`."""
    parser = argparse.ArgumentParser(prog="voicesvc", description=__doc__.split("\n\n")[0])
    add_arguments(parser.add_subparsers(dest="command", required=True))
    return dispatch(parser.parse_args(argv), os.environ if environ is None else environ)


EXIT_READER_GONE = 141
"""Exit status when standard output's reader went away (`voicesvc watch | head`): 128 + SIGPIPE, as a Unix
tool killed by that signal reports it."""


def reader_gone() -> int:
    """Stop quietly after standard output's reader closed the pipe; answers `EXIT_READER_GONE`."""
    # Output still buffered would fail again when Python flushes it at exit: send it nowhere instead.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_READER_GONE


if __name__ == "__main__":
    sys.exit(main())
