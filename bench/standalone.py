"""The bare servers the benchmark compares voicesvc against, each run as its own process.

`python -m bench.standalone KIND [--uvloop]` listens on a free loopback port and prints one JSON line
`{"port": N}` once it serves:

* `upstream`: a minimal Telnyx stand-in that answers `GET /v2/calls/{id}` instantly with a canned
  GetCallStatus document (so only client and facade costs show);
* `echo`: a bare grpc.aio server answering `CallControl.GetCallStatus` with a canned response, no
  interceptor, no logging, no upstream: the gRPC floor;
* `webhook`: a bare aiohttp endpoint that reads a POSTed body and answers 200 with a small JSON document,
  what any webhook receiver costs before it verifies or stores anything.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import grpc
from aiohttp import web

from voicesvc.v1 import call_control_pb2

__all__ = ["CALL_CONTROL_ID", "STATUS_DOCUMENT", "main"]

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
    parser.add_argument("kind", choices=("upstream", "echo", "webhook"))
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop instead of asyncio's loop")
    args = parser.parse_args(argv)
    serve = {"upstream": _upstream, "echo": _echo, "webhook": _webhook}[args.kind]
    if args.uvloop:
        import uvloop  # only when asked for: uvloop is an optional bench dependency

        uvloop.run(serve())
    else:
        asyncio.run(serve())


if __name__ == "__main__":
    main()
