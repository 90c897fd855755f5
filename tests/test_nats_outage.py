"""A NATS outage under a running voicesvc, end to end: real NATS server, real HTTP and gRPC.

While NATS is down, the replica reports itself not ready (`/readyz`, EventStream's gRPC health), webhooks
get 503 at once (so Telnyx delivers them again) and new subscribers get UNAVAILABLE. A stream already open
rides out an outage shorter than `events_outage_grace` and, once NATS is back, delivers what was accepted
since, with nothing missed and nothing twice. A stream whose outage lasts longer ends with UNAVAILABLE and
resumes from its last cursor.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.events import Watcher, WebhookPoster, error_info, webhook_body
from tests.support.nats import NatsServer
from tests.support.rpc_requests import unary
from tests.support.stack import Stack, eventually, start_stack
from voicesvc.transcode.routes import BY_METHOD
from voicesvc.v1 import call_control_pb2 as cc_pb2
from voicesvc.webhooks import Signer

# Telnyx waits for a webhook's answer; the 503 must come well before NATS's own request timeout (5 s).
PROMPT_S = 2.0
SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
SHORT_GRACE_S = 0.5


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    # Each test kills its server: none is shared.
    with NatsServer(tmp_path / "nats") as server:
        yield server


@pytest.fixture
def signer() -> Signer:
    return Signer.generate()


@pytest.fixture
async def stack(
    request: pytest.FixtureRequest, nats_server: NatsServer, signer: Signer
) -> AsyncIterator[Stack]:
    """A voicesvc on `nats_server` trusting `signer`'s webhooks; the test's parameter is its outage grace."""
    async with start_stack(
        events__backend=nats_server.url,
        events__outage_grace_s=request.param,
        webhooks__public_keys=(signer.public_key_b64,),
    ) as running:
        yield running


async def watching(stack: Stack, signer: Signer) -> tuple[WebhookPoster, Watcher]:
    """A webhook poster and an open stream that has already received one event."""
    poster = WebhookPoster(stack.http, stack.service.http_url, signer)
    watcher = await Watcher.open(stack.channel, event_types=["call."])
    first, _ = await poster.deliver("call.answered", n=1)
    assert (await watcher.event()).id == first
    return poster, watcher


async def availability_is(stack: Stack, expected: tuple[int, int, int]) -> bool:
    """Whether `/readyz` status and gRPC health of the whole server and of EventStream are `expected`."""
    status, _ = await stack.get("/readyz")
    health = health_pb2_grpc.HealthStub(stack.channel)
    whole = await health.Check(health_pb2.HealthCheckRequest(service=""))
    events = await health.Check(health_pb2.HealthCheckRequest(service="voicesvc.v1.EventStream"))
    return (status, whole.status, events.status) == expected


async def redeliver_until_accepted(poster: WebhookPoster, raw: bytes, within: float = 15.0) -> None:
    """Deliver `raw` again and again, as Telnyx does after a 503, until it is accepted."""
    async with asyncio.timeout(within):
        while True:
            status, _ = await poster.post_signed(raw)
            if status == 200:
                return
            assert status == 503
            await asyncio.sleep(0.2)


@pytest.mark.parametrize("stack", [30.0], indirect=True)
async def test_an_open_stream_rides_out_a_nats_restart_and_misses_nothing(
    stack: Stack, nats_server: NatsServer, signer: Signer
) -> None:
    poster, watcher = await watching(stack, signer)
    assert await availability_is(stack, (200, SERVING, SERVING))

    nats_server.kill()
    # Webhook load balancers and health checks learn that this replica cannot store events; calls still work.
    await eventually(lambda: availability_is(stack, (503, SERVING, NOT_SERVING)))
    status_rpc = unary(stack.channel, BY_METHOD["/voicesvc.v1.CallControl/GetCallStatus"])
    call = await status_rpc(cc_pb2.GetCallStatusRequest(call_control_id=stack.dial_direct()))
    assert call.is_alive
    during, during_id = webhook_body("call.dtmf.received", {"digit": "5"})
    async with asyncio.timeout(PROMPT_S):
        status, answer = await poster.post_signed(during)
    assert (status, answer["error"]["reason"]) == (503, "log_unavailable"), answer
    refused = await Watcher.start(stack.channel).failure()
    assert refused.code() == grpc.StatusCode.UNAVAILABLE
    info = error_info(refused)
    assert info is not None
    assert info.reason == "EVENT_LOG_UNAVAILABLE"

    nats_server.restart()
    await redeliver_until_accepted(poster, during)
    await eventually(lambda: availability_is(stack, (200, SERVING, SERVING)))
    after, _ = await poster.deliver("call.hangup")
    # The stream opened before the outage goes on: the redelivered event and the next one, once each.
    assert [e.id for e in await watcher.events_until(after)] == [during_id, after]


@pytest.mark.parametrize("stack", [SHORT_GRACE_S], indirect=True)
async def test_a_stream_ended_by_a_long_outage_resumes_from_its_cursor(
    stack: Stack, nats_server: NatsServer, signer: Signer
) -> None:
    poster, watcher = await watching(stack, signer)
    nats_server.kill()
    # Outlasting the grace period, the outage ends the stream: the client is told to go elsewhere.
    failure = await watcher.failure(within=SHORT_GRACE_S + 10)
    assert failure.code() == grpc.StatusCode.UNAVAILABLE
    info = error_info(failure)
    assert info is not None
    assert info.reason == "EVENT_LOG_UNAVAILABLE"

    nats_server.restart()
    second, second_id = webhook_body("call.hangup", {})
    await redeliver_until_accepted(poster, second)
    resumed = await Watcher.open(stack.channel, event_types=["call."], after_cursor=watcher.last_cursor)
    assert [e.id for e in await resumed.events_until(second_id)] == [second_id]
