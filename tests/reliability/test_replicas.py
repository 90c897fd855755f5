"""Two `voicesvc serve` replicas on one NATS JetStream log; one is SIGKILLed mid-stream and restarted.

The publisher behaves like Telnyx: it spreads webhooks over both replicas and redelivers whatever was not
acknowledged (to the other replica, attempt + 1). Subscribers resume on the surviving replica from their
last cursor. Every event must reach every subscriber exactly once, in one order, and the restarted
replica must replay the same log.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import aiohttp
import grpc
import pytest

from tests.reliability.support import FIGURES, SecretScan, sandbox_api_key
from tests.support.events import Watcher, webhook_body
from tests.support.nats import NatsServer
from tests.support.voicesvc_process import ServerProcess, start_server, stop_server
from voicesvc.server.http import WEBHOOK_PATH
from voicesvc.webhooks import Signer

BEFORE_KILL, WHILE_DOWN, AFTER_RESTART = 150, 100, 150


@pytest.fixture
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server


class Publisher:
    """Delivers webhooks like Telnyx: round robin over the replicas, redelivering until acknowledged."""

    def __init__(self, http: aiohttp.ClientSession, signer: Signer, scan: SecretScan) -> None:
        self.http = http
        self.signer = signer
        self.scan = scan
        self.replicas: list[ServerProcess] = []
        self.sent: list[str] = []
        self.redeliveries = 0
        self.duplicates_acknowledged = 0

    async def deliver(self, n: int) -> None:
        """Deliver event `n` (a fresh id) until one replica acknowledges it."""
        event_id = f"ev-{n:05d}"
        for attempt in range(1, 50):
            replica = self.replicas[(n + attempt - 1) % len(self.replicas)]
            raw, _ = webhook_body(
                "call.dtmf.received", {"n": n, "call_control_id": "v3:r"}, event_id=event_id, attempt=attempt
            )
            try:
                async with self.http.post(
                    replica.http_url + WEBHOOK_PATH,
                    data=raw,
                    headers=self.signer.sign_telnyx(raw),
                    timeout=aiohttp.ClientTimeout(total=3),
                ) as response:
                    text = await response.text()
                    self.scan.add("webhook answer", text)
                    if response.status == 200:
                        if '"duplicate": true' in text or '"duplicate":true' in text:
                            self.duplicates_acknowledged += 1
                        self.sent.append(event_id)
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            self.redeliveries += 1
            await asyncio.sleep(0.05)
        raise AssertionError(f"{event_id} was never acknowledged")


class Follower:
    """A subscriber that keeps reading, moving to another replica (from its last cursor) when one fails."""

    def __init__(self, channels: dict[str, grpc.aio.Channel], first: str, scan: SecretScan) -> None:
        self.channels = channels
        self.current = first
        self.scan = scan
        self.seen: list[str] = []
        self.failovers = 0
        self.cursor = ""

    async def follow_until(self, last_id: str) -> None:
        """Read until the event `last_id` arrived, failing over as often as needed."""
        while not self.seen or self.seen[-1] != last_id:
            request = {"after_cursor": self.cursor} if self.cursor else {"oldest": True}
            try:
                watcher = await Watcher.open(self.channels[self.current], **request)
                try:
                    while not self.seen or self.seen[-1] != last_id:
                        event = await watcher.event(within=30)
                        self.seen.append(event.id)
                        self.cursor = event.cursor
                finally:
                    watcher.cancel()
            except grpc.aio.AioRpcError as error:
                self.scan.add_rpc_error("WatchEvents", error)
                if error.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
                self.failovers += 1
                alive = [name for name in self.channels if name != self.current]
                self.current = alive[0]
                await asyncio.sleep(0.1)


async def test_two_nats_replicas_one_killed_and_restarted_lose_and_repeat_nothing(
    nats_server: NatsServer, scan: SecretScan
) -> None:
    signer = Signer.generate()
    scan.add_secret(signer.private_key_b64)
    env = {
        "VOICESVC_EVENTS_BACKEND": nats_server.url,
        "TELNYX_PUBLIC_KEY": signer.public_key_b64,
        "VOICESVC_GRACE_PERIOD": "1",
        "VOICESVC_LOG_LEVEL": "debug",
    }
    a, b = await asyncio.gather(asyncio.to_thread(start_server, env), asyncio.to_thread(start_server, env))
    replicas = [a, b]
    try:
        for server in replicas:
            scan.add_secret(sandbox_api_key(server.log_path.read_text()))
        async with contextlib.AsyncExitStack() as exits:
            http = await exits.enter_async_context(aiohttp.ClientSession())
            channel_a = await exits.enter_async_context(grpc.aio.insecure_channel(a.target))
            channel_b = await exits.enter_async_context(grpc.aio.insecure_channel(b.target))
            publisher = Publisher(http, signer, scan)
            publisher.replicas = [a, b]
            on_a = Follower({"a": channel_a, "b": channel_b}, "a", scan)
            on_b = Follower({"b": channel_b, "a": channel_a}, "b", scan)
            total = BEFORE_KILL + WHILE_DOWN + AFTER_RESTART
            last_id = f"ev-{total - 1:05d}"
            followers = [asyncio.create_task(f.follow_until(last_id)) for f in (on_a, on_b)]

            for n in range(BEFORE_KILL):
                await publisher.deliver(n)
            a.process.kill()  # SIGKILL: no shutdown of any kind
            a.process.wait()
            for n in range(BEFORE_KILL, BEFORE_KILL + WHILE_DOWN):
                await publisher.deliver(n)
            a_again = await asyncio.to_thread(start_server, env)
            replicas.append(a_again)
            scan.add_secret(sandbox_api_key(a_again.log_path.read_text()))
            channel_a2 = await exits.enter_async_context(grpc.aio.insecure_channel(a_again.target))
            publisher.replicas = [a_again, b]
            for n in range(BEFORE_KILL + WHILE_DOWN, total):
                await publisher.deliver(n)
            async with asyncio.timeout(60):
                await asyncio.gather(*followers)
            # The restarted replica replays the whole log, in the same order.
            replay = Follower({"a2": channel_a2}, "a2", scan)
            async with asyncio.timeout(30):
                await replay.follow_until(last_id)
    finally:
        for server in replicas:
            scan.add(
                f"replica log {server.target}", server.log_path.read_text(encoding="utf-8", errors="replace")
            )
        await asyncio.gather(*(asyncio.to_thread(stop_server, s) for s in replicas))

    expected = [f"ev-{n:05d}" for n in range(total)]
    assert publisher.sent == expected
    for follower in (on_a, on_b, replay):
        assert follower.seen == expected
    assert on_a.failovers >= 1
    FIGURES.record(
        "nats_replicas",
        events=total,
        redeliveries=publisher.redeliveries,
        duplicates_acknowledged=publisher.duplicates_acknowledged,
        failovers=on_a.failovers + on_b.failovers,
        lost=len(set(expected) - set(on_a.seen) - set(on_b.seen)),
        duplicated=sum(len(f.seen) - len(set(f.seen)) for f in (on_a, on_b, replay)),
    )
