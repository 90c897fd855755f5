"""`voicesvc subscriptions …` and `voicesvc pull`: manage worker-group subscriptions and pull from one.

`subscriptions create|get|update` print the subscription as JSON (proto field names); `list` and
`dead-letters` print one JSON object per line, walking every page; `pull` prints each event as `watch`
does (plus its `delivery_attempt`) and acks it once printed. Exit status as for `call`: 1 when the RPC
fails, 2 for unusable arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, cast

from google.protobuf import field_mask_pb2, json_format, timestamp_pb2
from google.protobuf.message import Message
from grpc import aio

from voicesvc.client.client import VoiceClient
from voicesvc.client.errors import describe_error
from voicesvc.v1 import events_pb2, subscriptions_pb2

__all__ = ["add_arguments"]

EXIT_RPC_ERROR = 1
EXIT_BAD_INPUT = 2
_ORDERING = {
    "per-call": subscriptions_pb2.Subscription.ORDERING_PER_CALL,
    "none": subscriptions_pb2.Subscription.ORDERING_NONE,
}


class _BadInput(Exception):
    pass


def add_arguments(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parent: argparse.ArgumentParser,
    event_line: Callable[[events_pb2.Event], dict[str, Any]],
    open_client: Callable[[argparse.Namespace], VoiceClient],
) -> None:
    """Register `subscriptions` (with its actions) and `pull`; `parent` holds the connection options."""
    group = subparsers.add_parser(
        "subscriptions",
        help="create, inspect, change and delete worker-group subscriptions; list and redrive dead letters",
        description="Manage subscriptions: durable worker groups with acks, redelivery and dead letters.",
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(
        name: str, help_text: str, run: Callable[[VoiceClient, argparse.Namespace], Awaitable[int]]
    ) -> Any:
        parser = actions.add_parser(name, parents=[parent], help=help_text, description=help_text)
        parser.add_argument("subscription", metavar="ID", help="the subscription id (or subscriptions/ID)")
        parser.set_defaults(func=_runner(run, open_client), command=f"subscriptions {name}")
        return parser

    create = action("create", "create a subscription", _create)
    for flag, dest, text in (
        ("--type", "event_types", "event type, exact or a prefix ending in a dot; repeatable"),
        ("--call-control-id", "call_control_ids", "only events of this call leg; repeatable"),
        ("--call-session-id", "call_session_ids", "only events of this call session; repeatable"),
        ("--connection-id", "connection_ids", "only events of this connection; repeatable"),
    ):
        create.add_argument(flag, dest=dest, action="append", default=[], metavar="VALUE", help=text)
    _delivery_options(create)
    create.add_argument("--ordering", choices=sorted(_ORDERING), default="per-call", help="default: per-call")
    start = create.add_mutually_exclusive_group()
    start.add_argument("--oldest", action="store_true", help="start at the oldest retained event")
    start.add_argument(
        "--start-time", metavar="RFC3339", help="start with the events accepted at or after it"
    )
    action("get", "print a subscription with its live figures", _get)
    update = action("update", "change the ack deadline and/or the delivery attempts", _update)
    _delivery_options(update)
    action("delete", "delete a subscription (its streams end with NOT_FOUND)", _delete)
    action("dead-letters", "print the dead letters as JSON lines", _dead_letters)
    redrive = action("redrive", "put dead letters back in front of the subscription", _redrive)
    redrive.add_argument(
        "event_ids", nargs="*", metavar="EVENT_ID", help="the events to redrive (default: all)"
    )
    listing = actions.add_parser("list", parents=[parent], help="print every subscription as JSON lines")
    listing.set_defaults(func=_runner(_list, open_client), command="subscriptions list")

    pull = subparsers.add_parser(
        "pull",
        parents=[parent],
        help="join a subscription's group, print its events as JSON lines and ack each",
        description="Join a subscription's worker group, print each event it delivers as a JSON line "
        "(with its delivery_attempt) and ack it once printed.",
    )
    pull.add_argument(
        "subscription", metavar="SUBSCRIPTION", help="the subscription id (or subscriptions/ID)"
    )
    pull.add_argument("--member-id", default="", help="this worker's member id (default: a new one)")
    pull.add_argument(
        "--max-outstanding", type=int, default=0, metavar="N", help="flow control (default 100)"
    )
    pull.add_argument("--limit", type=int, metavar="N", help="exit after N events")

    async def run_pull(client: VoiceClient, args: argparse.Namespace) -> int:
        if args.limit is not None and args.limit < 1:
            raise _BadInput("--limit must be at least 1")
        printed = 0
        async with client.pull(
            args.subscription, member_id=args.member_id, max_outstanding=args.max_outstanding
        ) as stream:
            async for message in stream:
                line = {**event_line(message.event), "delivery_attempt": message.delivery_attempt}
                print(json.dumps(line, ensure_ascii=False), flush=True)
                await message.ack()
                printed += 1
                if args.limit is not None and printed >= args.limit:
                    break
        return 0

    pull.set_defaults(func=_runner(run_pull, open_client))


def _delivery_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ack-deadline", type=float, metavar="SECONDS", help="1 to 600 (default 30)")
    parser.add_argument(
        "--max-delivery-attempts",
        type=int,
        metavar="N",
        help="before dead-lettering; 0 for no limit (default 5)",
    )


def _runner(
    run: Callable[[VoiceClient, argparse.Namespace], Awaitable[int]],
    open_client: Callable[[argparse.Namespace], VoiceClient],
) -> Callable[[argparse.Namespace], Awaitable[int]]:
    async def handler(args: argparse.Namespace) -> int:
        try:
            client = open_client(args)
        except Exception as exc:  # noqa: BLE001 - the connection options' own errors, reported as bad input
            print(f"voicesvc {args.command}: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        try:
            async with client:
                return await run(client, args)
        except _BadInput as exc:
            print(f"voicesvc {args.command}: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except aio.AioRpcError as err:
            print(describe_error(err), file=sys.stderr)
            return EXIT_RPC_ERROR

    return handler


def _name(args: argparse.Namespace) -> str:
    subscription = str(args.subscription)
    return subscription if subscription.startswith("subscriptions/") else f"subscriptions/{subscription}"


def _print(message: Message, indent: int | None = 2) -> None:
    print(json.dumps(json_format.MessageToDict(message, preserving_proto_field_name=True), indent=indent))


def _set_delivery(subscription: subscriptions_pb2.Subscription, args: argparse.Namespace) -> list[str]:
    paths = []
    if args.ack_deadline is not None:
        subscription.ack_deadline.FromNanoseconds(round(args.ack_deadline * 1e9))
        paths.append("ack_deadline")
    if args.max_delivery_attempts is not None:
        subscription.max_delivery_attempts = args.max_delivery_attempts
        paths.append("max_delivery_attempts")
    return paths


async def _create(client: VoiceClient, args: argparse.Namespace) -> int:
    subscription = subscriptions_pb2.Subscription(
        filter=events_pb2.EventFilter(
            event_types=args.event_types,
            call_control_ids=args.call_control_ids,
            call_session_ids=args.call_session_ids,
            connection_ids=args.connection_ids,
        ),
        ordering=_ORDERING[args.ordering],
    )
    _set_delivery(subscription, args)
    if args.oldest:
        subscription.start_position = events_pb2.START_POSITION_OLDEST
    elif args.start_time:
        stamp = timestamp_pb2.Timestamp()
        try:
            stamp.FromJsonString(args.start_time)
        except ValueError:
            raise _BadInput(f"--start-time: not an RFC 3339 time: {args.start_time!r}") from None
        subscription.start_time.CopyFrom(stamp)
    request = subscriptions_pb2.CreateSubscriptionRequest(
        subscription_id=_name(args).removeprefix("subscriptions/"), subscription=subscription
    )
    _print(cast(Message, await client.subscriptions.CreateSubscription(request)))
    return 0


async def _get(client: VoiceClient, args: argparse.Namespace) -> int:
    request = subscriptions_pb2.GetSubscriptionRequest(name=_name(args))
    _print(cast(Message, await client.subscriptions.GetSubscription(request)))
    return 0


async def _update(client: VoiceClient, args: argparse.Namespace) -> int:
    subscription = subscriptions_pb2.Subscription(name=_name(args))
    paths = _set_delivery(subscription, args)
    if not paths:
        raise _BadInput("give --ack-deadline and/or --max-delivery-attempts")
    request = subscriptions_pb2.UpdateSubscriptionRequest(
        subscription=subscription, update_mask=field_mask_pb2.FieldMask(paths=paths)
    )
    _print(cast(Message, await client.subscriptions.UpdateSubscription(request)))
    return 0


async def _delete(client: VoiceClient, args: argparse.Namespace) -> int:
    await client.subscriptions.DeleteSubscription(
        subscriptions_pb2.DeleteSubscriptionRequest(name=_name(args))
    )
    return 0


async def _list(client: VoiceClient, args: argparse.Namespace) -> int:
    token = ""
    while True:
        request = subscriptions_pb2.ListSubscriptionsRequest(page_token=token)
        page = cast(
            subscriptions_pb2.ListSubscriptionsResponse, await client.subscriptions.ListSubscriptions(request)
        )
        for subscription in page.subscriptions:
            _print(subscription, indent=None)
        token = page.next_page_token
        if not token:
            return 0


async def _dead_letters(client: VoiceClient, args: argparse.Namespace) -> int:
    token = ""
    while True:
        request = subscriptions_pb2.ListDeadLettersRequest(subscription=_name(args), page_token=token)
        page = cast(
            subscriptions_pb2.ListDeadLettersResponse, await client.subscriptions.ListDeadLetters(request)
        )
        for letter in page.dead_letters:
            _print(letter, indent=None)
        token = page.next_page_token
        if not token:
            return 0


async def _redrive(client: VoiceClient, args: argparse.Namespace) -> int:
    request = subscriptions_pb2.RedriveDeadLettersRequest(subscription=_name(args), event_ids=args.event_ids)
    _print(cast(Message, await client.subscriptions.RedriveDeadLetters(request)), indent=None)
    return 0
