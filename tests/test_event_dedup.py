"""A repeated webhook is stored once for the whole de-duplication window, whatever retention evicted."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import grpc

from tests.support.events import Watcher, WebhookPoster, webhook_body
from tests.support.stack import FAST_SANDBOX, FAST_SERVICE
from voicesvc.config import Settings
from voicesvc.embedded import embedded
from voicesvc.events import MemoryEventLog, Start, StoredEvent
from voicesvc.sandbox import SandboxConfig
from voicesvc.server.app import VoiceService, make_event_log
from voicesvc.webhooks import Signer


def _body(event_id: str, event_type: str = "call.answered") -> bytes:
    return json.dumps({"data": {"id": event_id, "event_type": event_type, "payload": {}}}).encode()


async def _append(log: MemoryEventLog, event_id: str | None = None) -> StoredEvent:
    event_id = event_id or str(uuid.uuid4())
    result = await log.append(_body(event_id), event_id, "call.answered")
    assert not result.duplicate
    return result.event


async def test_memory_log_recognises_a_repeat_of_an_evicted_event() -> None:
    log = MemoryEventLog(max_events=100)
    first = await _append(log, "x")
    reader = await log.subscribe(Start.after(first.cursor))
    for _ in range(150):
        await _append(log)
    assert (await log.bounds())[0] == first.seq + 51  # "x" itself is long gone from the ring
    again = await log.append(_body("x"), "x", "call.answered", 2)
    assert again.duplicate
    assert (again.event.cursor, again.event.seq, again.event.attempt) == (first.cursor, first.seq, 1)
    # Nothing new was stored: the log still ends with the 150th other event.
    assert (await log.bounds())[1] == first.seq + 150
    assert reader.latest_seq == first.seq + 150


async def test_memory_log_forgets_evicted_ids_once_their_window_ended() -> None:
    now = [1000.0]
    log = MemoryEventLog(max_events=2, dedup_window_s=300, clock=lambda: now[0])
    first = await _append(log, "x")
    await _append(log)
    await _append(log)  # evicts "x"
    now[0] += 299
    assert (await log.append(_body("x"), "x", "call.answered")).event.cursor == first.cursor
    now[0] += 2  # 301 s after "x" was received
    late = await log.append(_body("x"), "x", "call.answered")
    assert not late.duplicate
    assert late.event.seq == first.seq + 3


async def test_memory_log_beyond_its_cap_forgets_the_oldest_evicted_id_first() -> None:
    log = MemoryEventLog(max_events=1, max_remembered_ids=3)
    ids = [str(i) for i in range(5)]
    for event_id in ids:
        await _append(log, event_id)
    # Evicted: 0, 1, 2, 3 (4 is retained); only the three most recent evictions are remembered.
    assert log.ids_forgotten_early == 1
    for event_id in ids[1:]:
        assert (await log.append(_body(event_id), event_id, "call.answered")).duplicate
    assert not (await log.append(_body("0"), "0", "call.answered")).duplicate


def test_the_service_passes_its_dedup_window_to_the_memory_log() -> None:
    settings = Settings.from_values({"events.max_events": 100, "events.dedup_window_s": 900})
    log = make_event_log(settings)
    assert isinstance(log, MemoryEventLog)
    assert log.dedup_window_s == 900


@contextlib.asynccontextmanager
async def _service(**values: Any) -> AsyncIterator[tuple[VoiceService, grpc.aio.Channel, WebhookPoster]]:
    signer = Signer.generate()
    settings = Settings.from_values(
        {**FAST_SERVICE, "webhooks.public_keys": (signer.public_key_b64,), **values}
    )
    async with embedded(settings, SandboxConfig(**FAST_SANDBOX)) as running:
        service = running.service
        async with aiohttp.ClientSession() as http, grpc.aio.insecure_channel(service.grpc_target) as channel:
            yield service, channel, WebhookPoster(http, service.http_url, signer)
        await service.stop(grace_s=0)


async def test_replay_after_eviction_is_a_duplicate_over_http_and_delivered_once() -> None:
    async with _service(**{"events.max_events": 100}) as (_, channel, poster):
        watcher = await Watcher.open(channel)
        raw, event_id = webhook_body("call.answered", {"call_control_id": "v3:x"})
        headers = poster.signer.sign_telnyx(raw, int(time.time()))  # the same signed request, replayed later
        status, first = await poster.post(raw, headers)
        assert (status, first["duplicate"]) == (200, False)
        others = [(await poster.deliver("call.hangup"))[0] for _ in range(150)]
        status, again = await poster.post(raw, headers)
        assert status == 200
        assert again == {"status": "accepted", "cursor": first["cursor"], "duplicate": True}
        marker, _ = await poster.deliver("call.bridged")
        delivered = [e.id for e in await watcher.events_until(marker)]
        assert delivered == [event_id, *others, marker]
        watcher.cancel()
