"""The bare servers the benchmark compares voicesvc against, each run as its own process.

`python -m bench.standalone KIND [--uvloop]` listens on a free loopback port and prints one JSON line
`{"port": N}` once it serves:

* `upstream`: a minimal Telnyx stand-in that answers `GET /v2/calls/{id}` instantly with a canned
  GetCallStatus document (so only client and facade costs show);
* `echo`: a bare grpc.aio server answering `CallControl.GetCallStatus` with a canned response, no
  interceptor, no logging, no upstream: the gRPC floor;
* `relay UPSTREAM_URL`: the least any gRPC → REST facade on this stack does: a bare grpc.aio server (no
  interceptor, no logging, no retries) whose GetCallStatus makes the same aiohttp GET the facade makes and
  copies the JSON answer (parsed by orjson, as voicesvc parses it) into the response message. It shows
  what the echo floor and the raw client cost when they share one process and one loop;
* `webhook`: a bare aiohttp endpoint that reads a POSTed body and answers 200 with a small JSON document,
  what any webhook receiver costs before it verifies or stores anything;
* `verifier PUBLIC_KEY_B64 [NATS_URL]`: the least any verifying receiver does: the bare endpoint plus
  Telnyx's Ed25519 check of the signature over `timestamp|body`, a JSON parse (orjson) and an append to a
  list; with a NATS URL, a JetStream publish (awaiting its ack, de-duplicated by event id) instead of the
  append.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp
import grpc
import orjson
from aiohttp import web
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from voicesvc.v1 import call_control_pb2

__all__ = ["CALL_CONTROL_ID", "STATUS_DOCUMENT", "main", "relay_behavior"]

CALL_CONTROL_ID = "v3:bench-0123456789abcdef"
STATUS_DOCUMENT: dict[str, Any] = {
    "data": {
        "record_type": "call",
        "call_session_id": "428c31b6-7af4-4bcb-b7f5-5013ef9657c1",
        "call_leg_id": "428c31b6-7af4-4bcb-b7f5-5013ef9657c1",
        "call_control_id": CALL_CONTROL_ID,
        "is_alive": True,
        "client_state": "aGF2ZSBhIG5pY2UgZGF5ID1d",
        "call_duration": 50,
        "start_time": "2019-01-23T18:10:02.574Z",
        "end_time": "2019-01-23T18:11:52.574Z",
    }
}
_GET_CALL_STATUS = "/voicesvc.v1.CallControl/GetCallStatus"


def _announce(port: int) -> None:
    sys.stdout.write(json.dumps({"port": port}) + "\n")
    sys.stdout.flush()


async def _serve_http(app: web.Application) -> None:
    runner = web.AppRunner(app, access_log=None, handle_signals=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    _announce(int(runner.addresses[0][1]))
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def _upstream() -> None:
    body = json.dumps(STATUS_DOCUMENT).encode()

    async def status(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/v2/calls/{call_control_id}", status)
    await _serve_http(app)


async def _webhook() -> None:
    answer = b'{"accepted":true}'

    async def receive(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=answer, content_type="application/json")

    app = web.Application(client_max_size=1 << 20)
    app.router.add_post("/webhooks/telnyx", receive)
    await _serve_http(app)


async def _verifier(public_key_b64: str, nats_url: str | None) -> None:
    verify = VerifyKey(base64.b64decode(public_key_b64)).verify
    answer = b'{"accepted":true}'
    stored: list[Any] = []
    store: Callable[[Any, bytes], Awaitable[None]]

    async def append(event: Any, _body: bytes) -> None:
        stored.append(event)
        if len(stored) > 10_000:
            stored.clear()

    store = append
    if nats_url is not None:
        import nats  # the NATS floor only

        connection = await nats.connect(nats_url)
        jetstream = connection.jetstream()
        await jetstream.add_stream(name="BENCH_FLOOR", subjects=["bench.floor.>"])

        async def publish(event: Any, body: bytes) -> None:
            event_id = str(event["data"]["id"])
            await jetstream.publish(f"bench.floor.{event_id}", body, headers={"Nats-Msg-Id": event_id})

        store = publish

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        timestamp = request.headers.get("telnyx-timestamp", "")
        try:
            signature = base64.b64decode(request.headers.get("telnyx-signature-ed25519", ""))
            verify(timestamp.encode() + b"|" + body, signature)
        except (BadSignatureError, ValueError):
            return web.Response(status=401)
        await store(orjson.loads(body), body)
        return web.Response(body=answer, content_type="application/json")

    app = web.Application(client_max_size=1 << 20)
    app.router.add_post("/webhooks/telnyx", receive)
    await _serve_http(app)


def relay_behavior(upstream_url: str) -> Callable[..., Coroutine[Any, Any, Any]]:
    """The bare relay's GetCallStatus: the aiohttp GET a facade makes, its JSON copied into the response."""
    session = aiohttp.ClientSession(headers={"Authorization": "Bearer KEY_bench_0123456789"})
    response_type = call_control_pb2.GetCallStatusResponse
    # The plain fields; a facade would map the enum (`record_type`) too, which costs next to nothing.
    fields = {field.name for field in response_type.DESCRIPTOR.fields if field.enum_type is None}

    async def status(
        request: call_control_pb2.GetCallStatusRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> call_control_pb2.GetCallStatusResponse:
        async with session.get(f"{upstream_url}/calls/{request.call_control_id}") as answer:
            document = await answer.json(loads=orjson.loads)
        data = document["data"]
        return response_type(**{name: value for name, value in data.items() if name in fields})

    return status


async def _relay(upstream_url: str) -> None:
    await _serve_grpc(relay_behavior(upstream_url))


async def _echo() -> None:
    canned = call_control_pb2.GetCallStatusResponse(
        call_control_id=CALL_CONTROL_ID,
        call_leg_id=STATUS_DOCUMENT["data"]["call_leg_id"],
        call_session_id=STATUS_DOCUMENT["data"]["call_session_id"],
        is_alive=True,
        call_duration=50,
        client_state=STATUS_DOCUMENT["data"]["client_state"],
        start_time=STATUS_DOCUMENT["data"]["start_time"],
        end_time=STATUS_DOCUMENT["data"]["end_time"],
    )

    async def status(
        request: call_control_pb2.GetCallStatusRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> call_control_pb2.GetCallStatusResponse:
        return canned

    await _serve_grpc(status)


async def _serve_grpc(status: Any) -> None:
    handler = grpc.method_handlers_generic_handler(
        "voicesvc.v1.CallControl",
        {
            "GetCallStatus": grpc.unary_unary_rpc_method_handler(
                status,
                request_deserializer=call_control_pb2.GetCallStatusRequest.FromString,
                response_serializer=call_control_pb2.GetCallStatusResponse.SerializeToString,
            )
        },
    )
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    _announce(port)
    await server.wait_for_termination()


def main(argv: list[str] | None = None) -> None:
    """Run the server `argv` names until the process is terminated."""
    parser = argparse.ArgumentParser(prog="python -m bench.standalone")
    parser.add_argument("kind", choices=("upstream", "echo", "relay", "webhook", "verifier"))
    parser.add_argument(
        "argument", nargs="?", help="relay: the upstream's base URL; verifier: the public key"
    )
    parser.add_argument("nats_url", nargs="?", help="verifier: publish to this NATS JetStream")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop instead of asyncio's loop")
    args = parser.parse_args(argv)
    needs_argument = args.kind in ("relay", "verifier")
    if needs_argument != (args.argument is not None):
        parser.error(f"{args.kind} {'needs' if needs_argument else 'takes no'} argument")
    servers: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
        "upstream": _upstream,
        "echo": _echo,
        "webhook": _webhook,
        "relay": lambda: _relay(args.argument),
        "verifier": lambda: _verifier(args.argument, args.nats_url),
    }
    serve = servers[args.kind]
    if args.uvloop:
        import uvloop  # only when asked for: uvloop is an optional bench dependency

        uvloop.run(serve())
    else:
        asyncio.run(serve())


if __name__ == "__main__":
    main()
