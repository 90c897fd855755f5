"""Worker-group members on a replica that does not lead their subscription, with TLS between replicas.

Both replicas speak mutual TLS on their gRPC port; the member connects to the replica that does not lead
the subscription, which relays its stream to the leader over TLS with its own certificate.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import nats
import pytest

from tests.support.events import WebhookPoster
from tests.support.nats import NatsServer
from tests.support.stack import start_stack
from tests.support.subscriptions import Member
from tests.support.tls import self_signed
from voicesvc.config import ConfigError, Settings
from voicesvc.events.nats.log import DEFAULT_STREAM
from voicesvc.v1 import subscriptions_pb2, subscriptions_pb2_grpc
from voicesvc.webhooks import Signer


async def _leader_address(nats_url: str, subscription_id: str) -> str:
    connection = await nats.connect(nats_url)
    try:
        kv = await connection.jetstream().key_value(f"{DEFAULT_STREAM}_SUBSCRIPTIONS")
        async with asyncio.timeout(15):
            while True:
                with contextlib.suppress(Exception):
                    entry = await kv.get(f"leader.{subscription_id}")
                    if entry.value:
                        return str(json.loads(entry.value)["address"])
                await asyncio.sleep(0.05)
    finally:
        await connection.close()


async def test_a_member_on_the_other_replica_is_relayed_to_the_leader_over_mutual_tls(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    signer = Signer.generate()
    pem = cert.read_bytes()
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pem, private_key=key.read_bytes(), certificate_chain=pem
    )
    with NatsServer(tmp_path / "nats") as server:
        settings: dict[str, Any] = {
            "events__backend": server.url,
            "webhooks__public_keys": (signer.public_key_b64,),
            "tls__cert": cert,
            "tls__key": key,
            "tls__client_ca": cert,
            # The certificate names `localhost`: the replicas must reach each other by that name.
            "serving__grpc_listen": "localhost:0",
        }
        async with (
            start_stack(**settings) as a,
            start_stack(**settings) as b,
            aiohttp.ClientSession() as http,
            grpc.aio.secure_channel(a.service.grpc_target, credentials) as to_a,
            grpc.aio.secure_channel(b.service.grpc_target, credentials) as to_b,
        ):
            await subscriptions_pb2_grpc.SubscriptionsStub(to_a).CreateSubscription(
                subscriptions_pb2.CreateSubscriptionRequest(
                    subscription_id="relayed", subscription=subscriptions_pb2.Subscription()
                )
            )
            first = await (await Member.open(to_a, "subscriptions/relayed", member_id="m-a")).started()
            leader = await _leader_address(server.url, "relayed")
            by_target = {a.service.advertised_target: (a, to_a), b.service.advertised_target: (b, to_b)}
            assert set(by_target) == {a.service.advertised_target, b.service.advertised_target}
            assert leader in by_target
            await first.close()
            (follower_stack, follower_channel) = next(v for k, v in by_target.items() if k != leader)
            member = await (
                await Member.open(follower_channel, "subscriptions/relayed", member_id="m-b")
            ).started()
            poster = WebhookPoster(http, follower_stack.http_url, signer)
            event_id, _ = await poster.deliver(
                "call.answered", call_control_id="v3:relay", call_session_id="s-1"
            )
            received = await member.receive()
            assert received.event.id == event_id
            assert received.delivery_attempt == 1
            await member.send(ack_ids=[received.ack_id])
            await member.nothing(0.5)
            await member.close()


def test_the_advertised_address_needs_a_real_port() -> None:
    assert Settings.from_values(
        {"serving.advertise_address": "replica-1.internal:50051"}
    ).serving.advertise_address
    with pytest.raises(ConfigError, match="advertise_address"):
        Settings.from_values({"serving.advertise_address": "replica-1.internal:0"})
    with pytest.raises(ConfigError, match="advertise_address"):
        Settings.from_values({"serving.advertise_address": "no-port"})


def test_a_peer_ca_needs_tls(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    with pytest.raises(ConfigError, match="tls_peer_ca"):
        Settings.from_values({"tls.peer_ca": cert})
