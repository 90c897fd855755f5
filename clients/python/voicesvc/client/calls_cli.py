"""`voicesvc calls list|get|watch|exec`: the Calls service from the shell.

`list` prints one call per line (JSON, all pages), `get` one call, `watch` one change per line (first the
existing calls, then changes as they happen), and `exec` sends a CallControl command (its request in the
Telnyx wire form, as `voicesvc call` takes it) and prints its response with the event that reported its
outcome. Calls print as the `Call` message in proto JSON with the proto field names.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from grpc import aio

from voicesvc.client import cli
from voicesvc.client.calls import command_request
from voicesvc.client.errors import describe_error
from voicesvc.transcode import wire
from voicesvc.v1 import calls_pb2

__all__ = ["add_arguments", "call_line"]

_STATES = {
    name.removeprefix("CALL_STATE_").lower(): number
    for name, number in calls_pb2.CallState.items()
    if number != calls_pb2.CALL_STATE_UNSPECIFIED
}
_DIRECTIONS = {"incoming": calls_pb2.CALL_DIRECTION_INCOMING, "outgoing": calls_pb2.CALL_DIRECTION_OUTGOING}


def call_line(message: Message) -> dict[str, Any]:
    """A `Call` (or `CallChange`) as the JSON object the commands print."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def add_arguments(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """Register `voicesvc calls` and its subcommands."""
    calls = subparsers.add_parser(
        "calls",
        help="read and watch calls as live resources; send commands that wait for their outcome",
        description=(__doc__ or "").split("\n\n")[0],
    )
    commands = calls.add_subparsers(dest="calls_command", metavar="SUBCOMMAND", required=True)

    def filters(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--state",
            dest="states",
            action="append",
            default=[],
            choices=sorted(_STATES),
            help="only calls in this state; repeatable",
        )
        parser.add_argument("--connection-id", default="", metavar="ID", help="only calls of this connection")
        parser.add_argument("--call-session-id", default="", metavar="ID", help="only calls of this session")
        parser.add_argument("--direction", choices=sorted(_DIRECTIONS), help="only calls in this direction")

    listing = commands.add_parser("list", parents=[parent], help="print every matching call, one per line")
    filters(listing)
    listing.set_defaults(func=run_list)
    get = commands.add_parser("get", parents=[parent], help="print one call")
    get.add_argument("call", metavar="CALL", help="a call control id, or calls/{call_control_id}")
    get.set_defaults(func=run_get)
    watch = commands.add_parser(
        "watch", parents=[parent], help="print the calls, then each change, as JSON lines"
    )
    filters(watch)
    watch.add_argument("--after", default="", metavar="CURSOR", help="resume after this cursor (no list)")
    watch.add_argument("--limit", type=int, metavar="N", help="exit after printing N changes")
    watch.set_defaults(func=run_watch)
    execute = commands.add_parser(
        "exec",
        parents=[parent],
        help="send a command and wait for its outcome event",
        description="Send a CallControl command whose outcome Telnyx reports by webhook (DialCall, "
        "SpeakText, "
        "GatherDigits …) and print {response, outcome, succeeded} once the outcome arrived.",
    )
    execute.add_argument("method", metavar="RPC", help="the command, e.g. CallControl.DialCall or SpeakText")
    execute.add_argument("request", nargs="?", metavar="JSON", help="the request in the Telnyx wire form")
    execute.add_argument("-f", "--file", type=Path, metavar="PATH", help="read the request from a file")
    execute.set_defaults(func=run_exec)


def _filter_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "states": [_STATES[s] for s in args.states],
        "connection_id": args.connection_id,
        "call_session_id": args.call_session_id,
        "direction": _DIRECTIONS.get(args.direction or "", 0),
    }


async def _run(args: argparse.Namespace, body: Any) -> int:
    try:
        client = cli.open_client(args)
    except cli.InputError as exc:
        print(f"voicesvc calls: {exc}", file=sys.stderr)
        return cli.EXIT_BAD_INPUT
    try:
        async with client:
            await body(client)
    except aio.AioRpcError as err:
        print(describe_error(err), file=sys.stderr)
        return cli.EXIT_RPC_ERROR
    return 0


async def run_list(args: argparse.Namespace) -> int:
    """Handler of `voicesvc calls list`."""

    async def body(client: Any) -> None:
        async for call in client.calls.list(**_filter_options(args)):
            print(json.dumps(call_line(call), ensure_ascii=False), flush=True)

    return await _run(args, body)


async def run_get(args: argparse.Namespace) -> int:
    """Handler of `voicesvc calls get`."""

    async def body(client: Any) -> None:
        print(json.dumps(call_line(await client.calls.get(args.call)), indent=2, ensure_ascii=False))

    return await _run(args, body)


async def run_watch(args: argparse.Namespace) -> int:
    """Handler of `voicesvc calls watch`."""
    if args.limit is not None and args.limit < 1:
        print("voicesvc calls watch: --limit must be at least 1", file=sys.stderr)
        return cli.EXIT_BAD_INPUT

    async def body(client: Any) -> None:
        printed = 0
        async with client.watch_calls(after_cursor=args.after, **_filter_options(args)) as watch:
            async for change in watch:
                print(json.dumps(call_line(change), ensure_ascii=False), flush=True)
                printed += 1
                if args.limit is not None and printed >= args.limit:
                    return

    return await _run(args, body)


async def run_exec(args: argparse.Namespace) -> int:
    """Handler of `voicesvc calls exec`."""
    try:
        route = cli.find_route(args.method)
        command = cli.build_request(route, cli.read_request(args))
        request = command_request(command)
    except (cli.InputError, ValueError) as exc:
        print(f"voicesvc calls exec: {exc}", file=sys.stderr)
        return cli.EXIT_BAD_INPUT

    async def body(client: Any) -> None:
        reply = await client.calls.stub.ExecuteCommand(request)
        member = reply.WhichOneof("response")
        out = {
            "response": wire.to_json(getattr(reply, member)) if member else {},
            "outcome": cli.event_line(reply.outcome),
            "succeeded": reply.succeeded,
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))

    return await _run(args, body)
