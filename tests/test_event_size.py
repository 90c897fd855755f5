"""No accepted event exceeds what a default gRPC client receives, and no stored event can stop a stream.

Ingress measures the exact message the stream will deliver and refuses a larger one (413
`event_too_large`); an event stored without that bound (an older version, a replica with a larger bound)
reaches subscribers without its body, saying so in `Event.reduction`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import grpc
import pytest

from tests.support.events import Watcher, WebhookPoster, webhook_body
from tests.support.nats import NatsServer
from tests.support.stack import FAST_SANDBOX, FAST_SERVICE
from voicesvc.config import ConfigError, Settings
from voicesvc.embedded import embedded
from voicesvc.events import StoredEvent
from voicesvc.events.relayable import MAX_DELIVERED_BYTES
from voicesvc.sandbox import SandboxConfig
from voicesvc.server.app import VoiceService
from voicesvc.server.event_convert import EventConverter
from voicesvc.v1 import events_pb2
from voicesvc.webhooks import Signer

GRPC_DEFAULT_RECEIVE_LIMIT = 4 * 1024 * 1024


def zeros_body(size: int, event_id: str = "p1", **payload: Any) -> bytes:
    """`{"data":{"id":…,"event_type":"call.answered","payload":{…,"x":[0,0,…]}}}` of exactly `size` bytes."""
    envelope = {"data": {"id": event_id, "event_type": "call.answered", "payload": {**payload, "x": []}}}
    head, tail = json.dumps(envelope, separators=(",", ":")).encode().split(b"[]")
    room = size - len(head) - len(tail) - 2
    zeros = b",".join([b"0"] * ((room + 1) // 2))
    body = head + b"[" + b" " * (room - len(zeros)) + zeros + b"]" + tail
    assert len(body) == size
    return body


@contextlib.asynccontextmanager
async def service(**values: Any) -> AsyncIterator[tuple[VoiceService, grpc.aio.Channel, WebhookPoster]]:
    signer = Signer.generate()
    settings = Settings.from_values(
        {**FAST_SERVICE, "webhooks.public_keys": (signer.public_key_b64,), **values}
    )
    async with embedded(settings, SandboxConfig(**FAST_SANDBOX)) as running:
        svc = running.service
        # A client with gRPC's default receive limit, as `voicesvc watch` and most applications have.
        async with aiohttp.ClientSession() as http, grpc.aio.insecure_channel(svc.grpc_target) as channel:
            yield svc, channel, WebhookPoster(http, svc.http_url, signer)
        await svc.stop(grace_s=0)


async def metric(poster: WebhookPoster, service_url: str, reason: str) -> float:
    async with poster.http.get(service_url + "/metrics") as response:
        text = await response.text()
    series = f'voicesvc_webhooks_total{{outcome="rejected",reason="{reason}"}}'
    lines = [line for line in text.splitlines() if line.startswith(series)]
    return float(lines[0].split()[-1]) if lines else 0.0


async def test_a_webhook_whose_event_exceeds_the_bound_is_refused_and_never_stored() -> None:
    async with service() as (svc, channel, poster):
        watcher = await Watcher.open(channel, oldest=True)
        huge = zeros_body(1_048_576)  # the largest body the default body limit admits
        status, answer = await poster.post_signed(huge)
        assert status == 413
        assert answer["error"]["reason"] == "event_too_large"
        assert "at most 3145728 bytes" in answer["error"]["message"]
        assert await metric(poster, svc.http_url, "event_too_large") == 1
        # Well inside the bound: accepted, and delivered in full to a default client.
        fits = zeros_body(200_000, event_id="fits", call_control_id="v3:fits")
        status, answer = await poster.post_signed(fits)
        assert status == 200, answer
        event = await watcher.event()
        assert (event.id, event.reduction) == ("fits", events_pb2.EVENT_REDUCTION_UNSPECIFIED)
        assert len(event.raw.fields["payload"].struct_value.fields["x"].list_value.values) > 99_000
        # A redelivery of the refused event is refused again (it was not stored in the meantime).
        status, answer = await poster.post_signed(huge)
        assert (status, answer["error"]["reason"]) == (413, "event_too_large")


async def test_the_bound_is_a_setting_measured_on_the_delivered_message() -> None:
    async with service(**{"webhooks.max_event_bytes": 2000}) as (_, channel, poster):
        watcher = await Watcher.open(channel)
        small, small_id = webhook_body("call.answered", {"call_control_id": "v3:a"})
        status, _ = await poster.post_signed(small)
        assert status == 200
        event = await watcher.event()
        assert event.id == small_id
        delivered = events_pb2.WatchEventsResponse(event=event).ByteSize()
        # A body of the same length but whose message grows past the bound (numbers cost more as protobuf).
        grows, _ = webhook_body("call.answered", {"x": [0] * 300})
        measured = EventConverter().delivered_size(grows, json.loads(grows), "id", "call.answered", 1)
        assert len(grows) < 2000 < measured
        status, answer = await poster.post_signed(grows)
        assert (status, answer["error"]["reason"]) == (413, "event_too_large")
        assert delivered < 2000


def test_the_bound_cannot_exceed_what_a_default_client_receives() -> None:
    assert MAX_DELIVERED_BYTES <= GRPC_DEFAULT_RECEIVE_LIMIT - 512 * 1024
    assert Settings().webhooks.max_event_bytes <= MAX_DELIVERED_BYTES
    Settings.from_values({"webhooks.max_event_bytes": MAX_DELIVERED_BYTES})
    with pytest.raises(ConfigError, match="webhook_max_event_bytes"):
        Settings.from_values({"webhooks.max_event_bytes": MAX_DELIVERED_BYTES + 1})


async def _stored_without_the_bound(svc: VoiceService, raw: bytes, event_id: str) -> None:
    """Append straight to the log, as an older version or a replica with a larger bound did."""
    result = await svc.event_log.append(raw, event_id, "call.answered")
    assert not result.duplicate


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.mark.parametrize("backend", ["memory", "nats"])
async def test_a_stored_event_too_large_for_clients_is_delivered_without_its_body(
    backend: str, request: pytest.FixtureRequest
) -> None:
    values: dict[str, Any] = {}
    if backend == "nats":
        server: NatsServer = request.getfixturevalue("nats_server")
        values["events.backend"] = server.url
    # 800 kB of zeros (NATS keeps messages below 1 MB) is a message of about 5 MB.
    raw = zeros_body(800_000, event_id="big", call_control_id="v3:big", client_state="c3RhdGU=")
    async with service(**values) as (svc, channel, poster):
        watcher = await Watcher.open(channel, oldest=True)
        await _stored_without_the_bound(svc, raw, "big")
        after, _ = await poster.deliver("call.hangup", call_control_id="v3:big")
        event = await watcher.event()
        assert (event.id, event.call_control_id, event.client_state) == ("big", "v3:big", "c3RhdGU=")
        assert event.reduction == events_pb2.EVENT_REDUCTION_TOO_LARGE
        assert not event.raw.fields
        assert event.WhichOneof("payload") is None
        assert event.received_at.seconds > 0
        assert (await watcher.event()).id == after  # the stream goes on
        # Resuming right before it works the same way.
        resumed = await Watcher.open(channel, oldest=True, call_control_ids=["v3:big"])
        assert (await resumed.event()).reduction == events_pb2.EVENT_REDUCTION_TOO_LARGE
        watcher.cancel()
        resumed.cancel()


async def test_nats_refuses_an_event_beyond_its_message_limit_without_dropping_the_connection(
    nats_server: NatsServer,
) -> None:
    async with service(**{"events.backend": nats_server.url}) as (_, channel, poster):
        watcher = await Watcher.open(channel)
        # Within the body limit and small as a stream message (one long string), but above NATS's 1 MB.
        envelope = len(webhook_body("call.answered", {"pad": ""})[0])
        raw, _ = webhook_body("call.answered", {"pad": "x" * (1_048_576 - envelope)})
        assert len(raw) == 1_048_576
        status, answer = await poster.post_signed(raw)
        assert (status, answer["error"]["reason"]) == (413, "event_too_large")
        assert "the server accepts 1048576" in answer["error"]["message"]
        # The connection to NATS stayed up: the next webhook is stored and streamed at once.
        event_id, _ = await poster.deliver("call.hangup")
        assert (await watcher.event()).id == event_id
        watcher.cancel()


def test_an_event_with_huge_correlation_ids_keeps_its_identity() -> None:
    state = "s" * (MAX_DELIVERED_BYTES + 10)
    raw = json.dumps(
        {"data": {"id": "e", "event_type": "call.answered", "payload": {"client_state": state}}}
    ).encode()
    stored = StoredEvent(3, "cursor-3", "e", "call.answered", time.time(), 2, raw)
    response = EventConverter().response(stored)
    assert response.ByteSize() <= MAX_DELIVERED_BYTES
    event = response.event
    assert (event.id, event.cursor, event.attempt, event.client_state) == ("e", "cursor-3", 2, "")
    assert event.reduction == events_pb2.EVENT_REDUCTION_TOO_LARGE


def test_the_measured_message_is_the_one_the_stream_delivers() -> None:
    converter = EventConverter()
    raw, event_id = webhook_body(
        "call.hangup", {"call_control_id": "v3:m", "hangup_cause": "normal_clearing"}
    )
    size = converter.delivered_size(raw, json.loads(raw), event_id, "call.hangup", 3)
    stored = StoredEvent(7, "0" * 21, event_id, "call.hangup", time.time(), 3, raw)
    delivered = converter.response(stored)
    assert converter.conversions == 1  # the stream reused the measured message
    fresh = EventConverter().response(stored)
    assert delivered.SerializeToString() == fresh.SerializeToString()
    # The same message, but for its receive time: measured with the widest nanoseconds, never smaller.
    assert fresh.ByteSize() <= size <= fresh.ByteSize() + 4
