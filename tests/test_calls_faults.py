"""300 sandbox calls through every state while a fifth of the webhooks arrive out of order and a tenth twice.

Every call must end up exactly as Telnyx's own sequence of its events implies (the same events folded in the
order the sandbox sent them), and a watch must never see a call's state go back or end twice.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict

import grpc
import pytest

from tests.support.stack import API_KEY, FAST_SANDBOX, Stack, eventually, start_stack
from tests.test_calls_projection import public
from tests.test_calls_service import changes_until, dial_request, execute, watching
from voicesvc.calls import CallStore, parse_event
from voicesvc.events.log import StoredEvent
from voicesvc.sandbox import FaultRule, SandboxConfig
from voicesvc.sandbox.cli import DEFAULTS, faults_from
from voicesvc.v1 import call_control_pb2 as cc_pb2
from voicesvc.v1 import calls_pb2, calls_pb2_grpc

CALLS = 300
RANK = {
    calls_pb2.CALL_STATE_INITIATED: 1,
    calls_pb2.CALL_STATE_ANSWERED: 2,
    calls_pb2.CALL_STATE_BRIDGED: 2,
    calls_pb2.CALL_STATE_QUEUED: 2,
    calls_pb2.CALL_STATE_ENDED: 3,
}


async def scenario(stack: Stack, n: int, expected: dict[str, int]) -> None:
    """One call (two legs for a bridge) driven to the state its scenario ends in."""
    kind = n % 7
    if kind == 6:  # an incoming call still ringing
        expected[stack.inbound_direct("conn-calls")] = calls_pb2.CALL_STATE_INITIATED
        return
    if kind in (0, 1):  # busy, no answer: initiated then ended
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            await execute(stack, dial_call=dial_request(to="+15550001486" if kind == 0 else "+15550001408"))
        assert ended.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        return
    dialed = await execute(stack, dial_call=dial_request())
    ccid = dialed.dial_call.call_control_id
    if kind == 2:  # speaks, then hangs up
        await execute(
            stack, speak_text=cc_pb2.SpeakTextRequest(call_control_id=ccid, payload="hi", voice="female")
        )
        await execute(stack, hangup_call=cc_pb2.HangupCallRequest(call_control_id=ccid))
        expected[ccid] = calls_pb2.CALL_STATE_ENDED
    elif kind == 3:  # waits in a queue
        await execute(
            stack, enqueue_call=cc_pb2.EnqueueCallRequest(call_control_id=ccid, queue_name="support")
        )
        expected[ccid] = calls_pb2.CALL_STATE_QUEUED
    elif kind == 4:  # bridged with a second leg
        second = dial_request(to="+15550100009", link_to=ccid)  # one session, as Telnyx advises
        other = (await execute(stack, dial_call=second)).dial_call.call_control_id
        await execute(
            stack, bridge_call=cc_pb2.BridgeCallRequest(call_control_id=ccid, other_call_control_id=other)
        )
        expected[ccid] = expected[other] = calls_pb2.CALL_STATE_BRIDGED
    else:  # answered, held by the far end, a playback that has finished
        await execute(
            stack,
            start_playback=cc_pb2.StartPlaybackRequest(
                call_control_id=ccid, audio_url="https://x.invalid/a.mp3"
            ),
        )
        stack.sandbox.engine.set_hold(stack.sandbox.engine.calls[ccid], True)
        expected[ccid] = calls_pb2.CALL_STATE_ANSWERED


def reference_calls(stack: Stack) -> dict[str, calls_pb2.Call]:
    """The calls folded from the sandbox's webhooks in the order it sent them (no faults)."""
    store = CallStore()
    for seq, data in enumerate(stack.sandbox.engine.events.webhooks(), start=1):
        raw = json.dumps({"data": data}).encode()
        event = parse_event(StoredEvent(seq, f"r{seq}", data["id"], data["event_type"], time.time(), 1, raw))
        if event is not None:
            store.apply(event)
    return {c.call_control_id: c for c in store.calls()}


async def test_300_calls_with_reordered_and_repeated_webhooks_end_as_their_events_imply() -> None:
    config = SandboxConfig(api_key=API_KEY, seed=10, **FAST_SANDBOX)
    async with start_stack(sandbox_config=config, calls__ended_retention_s=3600.0) as stack:
        stack.add_fault(kind="webhook_reorder", rate=0.2, hold_ms=50)
        stack.add_fault(kind="webhook_duplicate", rate=0.1, hold_ms=50)
        expected: dict[str, int] = {}
        async with watching(stack) as queue:
            assert (await queue.get()).WhichOneof("kind") == "heartbeat"  # nothing to list yet
            legs = 0
            for start in range(0, CALLS, 30):
                await asyncio.gather(*(scenario(stack, n, expected) for n in range(start, start + 30)))
                legs = len(stack.sandbox.engine.calls)
                if legs >= CALLS:
                    break
            await eventually(lambda: stack.sandbox.dispatcher.pending == 0, limit=30)
            log = stack.service.event_log
            latest = (await log.bounds())[1]
            assert latest is not None
            await eventually(lambda: stack.service.call_store.seq == latest, limit=30)
            final_cursor = stack.service.call_store.cursor
            changes = await changes_until(queue, lambda c: c.cursor == final_cursor, limit=30)

        attempts = stack.sandbox.dispatcher.attempts
        sent = Counter(a.event_id for a in attempts if a.ok)
        assert sum(1 for n in sent.values() if n > 1) > 0.05 * len(sent)  # delivered twice
        emitted = [d["id"] for d in stack.sandbox.engine.events.webhooks()]
        arrival = list(dict.fromkeys(a.event_id for a in attempts if a.ok))
        assert arrival != emitted  # and out of order
        assert sorted(arrival) == sorted(emitted)

        reference = reference_calls(stack)
        assert len(reference) == legs >= CALLS
        listed: list[calls_pb2.Call] = []
        token = ""
        while True:
            page = await calls_pb2_grpc.CallsStub(stack.channel).ListCalls(
                calls_pb2.ListCallsRequest(page_size=1000, page_token=token), timeout=5
            )
            listed += page.calls
            token = page.next_page_token
            if not token:
                break
        assert {c.call_control_id: public(c) for c in listed} == {k: public(c) for k, c in reference.items()}
        for ccid, state in expected.items():
            assert reference[ccid].state == state
        states = Counter(c.state for c in listed)
        assert set(states) == set(RANK)
        ended = [c for c in listed if c.state == calls_pb2.CALL_STATE_ENDED]
        assert {c.hangup_cause for c in ended} >= {6, 4, 2}  # user_busy, timeout, normal_clearing
        bridged = [c for c in listed if c.state == calls_pb2.CALL_STATE_BRIDGED]
        assert all(c.bridged_with for c in bridged)
        assert all(
            c.on_hold for c in listed if expected.get(c.call_control_id) == calls_pb2.CALL_STATE_ANSWERED
        )

        # The watch never saw a state go back, and saw each call end once.
        seen: dict[str, list[int]] = defaultdict(list)
        ends: Counter[str] = Counter()
        for change in changes:
            seen[change.call.call_control_id].append(RANK[change.call.state])
            if change.kind == calls_pb2.CALL_CHANGE_KIND_ENDED:
                ends[change.call.call_control_id] += 1
        assert set(seen) == set(reference)
        assert all(ranks == sorted(ranks) for ranks in seen.values())
        assert dict(ends) == dict.fromkeys((c.call_control_id for c in ended), 1)


async def test_the_reorder_and_duplicate_faults_bend_delivery_as_declared(stack: Stack) -> None:
    # Hold back the call's first webhook until its second went out; deliver the hangup twice (the copy
    # after `hold_ms`, as no other event of the call follows it).
    stack.add_fault(kind="webhook_reorder", event_type="call.initiated", count=1, hold_ms=2000)
    stack.add_fault(kind="webhook_duplicate", event_type="call.hangup", count=1, hold_ms=100)
    reply = await execute(stack, dial_call=dial_request())
    ccid = reply.dial_call.call_control_id
    await execute(stack, hangup_call=cc_pb2.HangupCallRequest(call_control_id=ccid))
    await eventually(lambda: stack.sandbox.dispatcher.pending == 0)
    delivered = [a.event_type for a in stack.sandbox.dispatcher.attempts if a.ok]
    assert delivered == ["call.answered", "call.initiated", "call.hangup", "call.hangup"]
    # The log stored the repeat once; the call reads as Telnyx's sequence implies.
    call = await calls_pb2_grpc.CallsStub(stack.channel).GetCall(
        calls_pb2.GetCallRequest(name=f"calls/{ccid}")
    )
    assert (call.state, call.event_count, call.direction) == (
        calls_pb2.CALL_STATE_ENDED,
        3,
        calls_pb2.CALL_DIRECTION_OUTGOING,
    )


def test_the_sandbox_command_line_turns_the_rates_into_fault_rules() -> None:
    values = {**DEFAULTS, "webhook_reorder_rate": 0.2, "webhook_duplicate_rate": 0.1}
    rules = faults_from(values)
    assert [(r.kind, r.rate) for r in rules] == [("webhook_reorder", 0.2), ("webhook_duplicate", 0.1)]
    with pytest.raises(ValueError, match="hold_ms"):
        FaultRule(kind="webhook_reorder", hold_ms=-1)
