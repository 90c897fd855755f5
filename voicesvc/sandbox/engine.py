"""The call engine: legs, their life cycle, webhooks and the per-command bookkeeping.

Outbound destinations with a scripted outcome (anything else answers as a human):

| `to`           | what happens after `answer_delay`                                               |
|----------------|----------------------------------------------------------------------------------|
| `+15550001486` | busy: `call.hangup` with `hangup_cause` `user_busy` (SIP 486)                    |
| `+15550001408` | no answer: `call.hangup` with `hangup_cause` `timeout` (SIP 480)                 |
| `+15550001404` | unknown number: `call.hangup` with `hangup_cause` `not_found` (SIP 404)          |
| `+15550001603` | declined: `call.hangup` with `hangup_cause` `call_rejected` (SIP 603)            |
| `+15550002000` | an answering machine answers; with `answering_machine_detection` requested the   |
|                | machine detection webhooks report `machine` and then a beep                      |
| `+15550002500` | answers but sends no audio: with `deepfake_detection` enabled,                   |
|                | `call.deepfake_detection.error` (`rtp_timeout`) instead of a result              |

A `to` array rings every destination at once, each a leg of one session, answering one `answer_delay / 2`
after the other in list order: the first to answer wins and the legs still ringing get `call.hangup` with
`originator_cancel`. The dial's response describes the first destination's leg.

Other scripted behaviour: `streaming_start` with a `stream_url` that is not `ws://`/`wss://` sends
`streaming.failed`; `refer` to a `sip_address` containing `fail` sends `call.refer.failed`;
`siprec_start` with a `connector_name` starting with `fail` sends `siprec.failed`; a recording whose
`custom_file_name` (`record_custom_file_name` on dial/answer) starts with `fail` ends with
`call.recording.error` instead of `call.recording.saved`; an incoming leg from `+15550002500` behaves like
that destination, and `deepfake_detection` enabled on dial or answer sends `call.deepfake_detection.result`
after answer. Every AI assistant conversation (`ai_assistant_start`/`_join`, or `assistant` on
dial/answer) ends with `call.conversation.ended` and then `call.conversation_insights.generated`, on
`ai_assistant_stop` or when the leg hangs up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import structlog

from voicesvc.sandbox.applications import ApplicationStore
from voicesvc.sandbox.callevents import CallEventLog
from voicesvc.sandbox.config import SandboxConfig
from voicesvc.sandbox.delivery import WebhookDispatcher
from voicesvc.sandbox.errors import BAD_REQUEST, ApiError, call_ended, error_object, invalid_state, not_found
from voicesvc.sandbox.ids import call_control_id, iso, now, uuid_str
from voicesvc.sandbox.model import Call, Recording
from voicesvc.sandbox.payloads import build_payload

log = structlog.get_logger("voicesvc.sandbox.engine")

OUTCOMES: dict[str, str] = {
    "+15550001486": "busy",
    "+15550001408": "no_answer",
    "+15550001404": "not_found",
    "+15550001603": "rejected",
    "+15550002000": "machine",
    "+15550002500": "silent",
}
_FAILURES = {
    "busy": ("user_busy", "486"),
    "no_answer": ("timeout", "480"),
    "not_found": ("not_found", "404"),
    "rejected": ("call_rejected", "603"),
}

CommandHandler = Callable[["Engine", Call, dict[str, Any]], Awaitable[dict[str, Any]]]
CommandCheck = Callable[["Engine", Call, dict[str, Any]], None]


class Engine:
    """Owns every call leg, application and call event, and emits the webhooks."""

    def __init__(self, config: SandboxConfig, dispatcher: WebhookDispatcher):
        self.config = config
        self.dispatcher = dispatcher
        self.apps = ApplicationStore()
        self.events = CallEventLog()
        self.calls: dict[str, Call] = {}
        self.queues: dict[str, list[str]] = {}
        self.executions: Counter[tuple[str, str]] = Counter()
        self._dial_ids: dict[tuple[str, str], dict[str, Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # ----------------------------------------------------------------- housekeeping

    async def stop(self) -> None:
        """Cancel every scheduled call progression."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def reset(self) -> None:
        """Forget every call, application, call event and execution count."""
        await self.stop()
        self.calls.clear()
        self.queues.clear()
        self.executions.clear()
        self._dial_ids.clear()
        self.apps.clear()
        self.events.clear()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a background step of a call's life; tracked so `stop` can cancel it."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def later(self, delay_s: float, step: Callable[[], None]) -> None:
        """Sleep `delay_s` seconds, then run `step` (used with `spawn`)."""
        await asyncio.sleep(delay_s)
        try:
            step()
        except Exception:
            log.exception("scheduled_step_failed")

    def get_call(self, call_control_id: str) -> Call:
        """The leg with that id; 404 when unknown."""
        call = self.calls.get(call_control_id)
        if call is None:
            raise not_found("call")
        return call

    def call_state(self, call_control_id: str) -> str | None:
        """The state of a leg, or None when unknown."""
        call = self.calls.get(call_control_id)
        return call.state if call else None

    def connection_known(self, connection_id: str) -> bool:
        """True for an application id or a connection that some leg used."""
        if self.apps.find(connection_id) is not None:
            return True
        return any(c.connection_id == connection_id for c in self.calls.values())

    # ----------------------------------------------------------------- webhooks

    def emit(self, call: Call, event_type: str, **extra: Any) -> dict[str, Any]:
        """Build, log and queue one webhook of `call`; returns the event (`data` of the envelope)."""
        event = {
            "id": uuid_str(),
            "event_type": event_type,
            "occurred_at": iso(now()),
            "payload": build_payload(call, event_type, extra),
            "record_type": "event",
        }
        self.events.record(call, "webhook", event_type, event)
        urls, timeout = self._destinations(call)
        self.dispatcher.enqueue(call.call_control_id, event, urls, timeout)
        return event

    def _destinations(self, call: Call) -> tuple[list[str], float | None]:
        app = self.apps.find(call.connection_id)
        timeout = float(app["webhook_timeout_secs"]) if app and app.get("webhook_timeout_secs") else None
        if call.webhook_url:
            return [call.webhook_url], timeout
        if app is not None:
            return [app.get("webhook_event_url", ""), app.get("webhook_event_failover_url", "")], timeout
        return ([self.config.webhook_url] if self.config.webhook_url else []), timeout

    # ----------------------------------------------------------------- commands

    async def execute(
        self,
        name: str,
        call_control_id: str,
        body: dict[str, Any],
        handler: CommandHandler,
        check: CommandCheck | None = None,
    ) -> dict[str, Any]:
        """Run one call command with Telnyx's rules: 404, ended-call 422, command_id de-duplication."""
        call = self.get_call(call_control_id)
        command_id = body.get("command_id")
        if command_id and command_id in call.command_ids:
            return call.command_ids[command_id]
        if not call.is_alive:
            self.events.record(call, "command", name, _command_meta(name, call, body), failed=True)
            raise call_ended()
        try:
            if check is not None:
                check(self, call, body)
        except ApiError:
            self.events.record(call, "command", name, _command_meta(name, call, body), failed=True)
            raise
        self.executions[(call.call_control_id, name)] += 1
        if body.get("client_state") is not None:
            call.client_state = body["client_state"]
        self.events.record(call, "command", name, _command_meta(name, call, body))
        extra = await handler(self, call, body)
        response = {"data": {"result": "ok", **extra}}
        if command_id:
            call.command_ids[command_id] = response
        return response

    def dial(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /calls`: create one outbound leg per destination and start their lives."""
        connection_id = str(body["connection_id"])
        command_id = body.get("command_id")
        if command_id and (connection_id, command_id) in self._dial_ids:
            return self._dial_ids[(connection_id, command_id)]
        destinations = body["to"] if isinstance(body["to"], list) else [body["to"]]
        if not destinations:
            raise ApiError(
                422,
                [
                    error_object(
                        BAD_REQUEST,
                        "Invalid value",
                        "to must name at least one destination.",
                        pointer="/to",
                    )
                ],
            )
        linked = self.calls.get(body.get("link_to") or "")
        session = linked.call_session_id if linked is not None else uuid_str()
        legs = [self._outbound_leg(body, str(to), session, linked) for to in destinations]
        for index, leg in enumerate(legs):
            leg.ring_group = [other.call_control_id for other in legs if other is not leg]
            self.calls[leg.call_control_id] = leg
            self.executions[(leg.call_control_id, "dial")] += 1
            self.events.record(leg, "command", "dial", _command_meta("dial", leg, body))
            self._emit_initiated(leg)
            delay = self.config.answer_delay_s * (1 + index / 2)
            self.spawn(self._progress_outbound(leg, delay, body.get("time_limit_secs")))
        first = legs[0]
        data = first.status()
        if first.record_on_answer is not None:
            data["recording_id"] = first.record_on_answer["recording_id"]
        response = {"data": data}
        if command_id:
            self._dial_ids[(connection_id, command_id)] = response
        return response

    def _outbound_leg(self, body: dict[str, Any], to: str, session: str, linked: Call | None) -> Call:
        """A ringing outgoing leg to `to` with what the dial asked for on answer."""
        call = Call(
            call_control_id=call_control_id(),
            call_leg_id=uuid_str(),
            call_session_id=session,
            connection_id=str(body["connection_id"]),
            from_=body["from"],
            to=to,
            direction="outgoing",
            client_state=body.get("client_state"),
            custom_headers=list(body.get("custom_headers") or []),
            sip_headers=list(body.get("sip_headers") or []),
            caller_id_name=body.get("from_display_name"),
            outcome=OUTCOMES.get(to, "answer"),
            webhook_url=body.get("webhook_url") or None,  # the dial's own URL overrides the application's
        )
        amd = body.get("answering_machine_detection")
        call.amd = amd if amd and amd != "disabled" else None
        call.deepfake = bool((body.get("deepfake_detection") or {}).get("enabled"))
        call.record_on_answer = record_on_answer(body)
        call.assistant_on_answer = body.get("assistant")
        if body.get("stream_url"):
            call.stream_on_answer = {"stream_url": body["stream_url"], "track": body.get("stream_track")}
        if body.get("bridge_on_answer") and linked is not None:
            call.bridge_on_answer_with = linked.call_control_id
        return call

    def inbound(self, body: dict[str, Any]) -> Call:
        """Simulate a call arriving on a connection (admin API): a parked incoming leg."""
        call = Call(
            call_control_id=call_control_id(),
            call_leg_id=uuid_str(),
            call_session_id=uuid_str(),
            connection_id=str(body["connection_id"]),
            from_=str(body.get("from", "+15557654321")),
            to=str(body.get("to", "+15551234567")),
            direction="incoming",
            client_state=body.get("client_state"),
            custom_headers=list(body.get("custom_headers") or []),
            sip_headers=list(body.get("sip_headers") or []),
            caller_id_name=body.get("caller_id_name"),
        )
        self.calls[call.call_control_id] = call
        self._emit_initiated(call)
        return call

    def _emit_initiated(self, call: Call) -> None:
        self.emit(
            call,
            "call.initiated",
            direction=call.direction,
            state="bridging" if call.direction == "outgoing" else "parked",
            start_time=iso(call.created_at),
            caller_id_name=call.caller_id_name,
            custom_headers=call.custom_headers or None,
            sip_headers=call.sip_headers or None,
        )

    # ----------------------------------------------------------------- life cycle

    async def _progress_outbound(self, call: Call, delay_s: float, time_limit: int | None) -> None:
        await asyncio.sleep(delay_s)
        if not call.is_alive or call.state != "ringing":  # ended, or answered already (test helpers)
            return
        if call.outcome in _FAILURES:
            cause, sip = _FAILURES[call.outcome]
            self.hangup(call, cause, "callee", sip)
            return
        self.answer(call)
        self._cancel_ring_group(call)
        self._after_outbound_answer(call)
        if time_limit:
            await asyncio.sleep(time_limit)
            if call.is_alive:
                self.hangup(call, "time_limit", "unknown", "200")

    def answer(self, call: Call) -> None:
        """Mark the leg answered and send `call.answered` plus what the dial asked for on answer."""
        call.state = "answered"
        call.answered_at = now()
        self.emit(
            call,
            "call.answered",
            state="answered",
            start_time=iso(call.created_at),
            custom_headers=call.custom_headers or None,
            sip_headers=call.sip_headers or None,
        )
        if call.record_on_answer is not None:
            opts = call.record_on_answer
            call.recording = Recording(
                recording_id=opts["recording_id"],
                started_at=now(),
                channels=opts["channels"],
                format=opts["format"],
                custom_file_name=opts["custom_file_name"],
            )
        if call.stream_on_answer is not None:
            stream = call.stream_on_answer
            self.start_stream(call, stream["stream_url"], stream.get("track"))
        if call.assistant_on_answer is not None:
            self.start_assistant(call, call.assistant_on_answer)
        if call.deepfake:
            self.spawn(self.later(self.config.media_delay_s, lambda: self._deepfake_verdict(call)))

    def _cancel_ring_group(self, call: Call) -> None:
        """The leg won its multi-destination dial: stop the other legs that are still ringing."""
        for other_id in call.ring_group:
            other = self.calls.get(other_id)
            if other is not None and other.state == "ringing":
                self.hangup(other, "originator_cancel", "caller", "487")

    def _deepfake_verdict(self, call: Call) -> None:
        if not call.is_alive:
            return
        if OUTCOMES.get(call.far_end) == "silent":
            self.emit(call, "call.deepfake_detection.error", error_message="rtp_timeout")
            return
        self.emit(call, "call.deepfake_detection.result", result="real", score=0.02, consistency=0.97)

    def _after_outbound_answer(self, call: Call) -> None:
        if call.amd:
            self._machine_detection(call)
        peer = self.calls.get(call.bridge_on_answer_with or "")
        if peer is not None and peer.is_alive:
            self.bridge(call, peer)

    def _machine_detection(self, call: Call) -> None:
        machine = call.outcome == "machine"
        if call.amd == "premium":
            self.emit(
                call,
                "call.machine.premium.detection.ended",
                result="machine" if machine else "human_residence",
            )
            if machine:
                self.emit(call, "call.machine.premium.greeting.ended", result="beep_detected")
            return
        self.emit(call, "call.machine.detection.ended", result="machine" if machine else "human")
        if machine and call.amd in ("detect_beep", "greeting_end", "detect_words"):
            self.emit(call, "call.machine.greeting.ended", result="beep_detected")

    def bridge(self, call: Call, peer: Call) -> None:
        """Join two legs; `call.bridged` goes to both."""
        for leg in (call, peer):
            if leg.queue is not None:
                self.leave_queue(leg, "bridged")
            if leg.state == "ringing" and leg.direction == "incoming":
                self.answer(leg)
        call.bridged_with = peer.call_control_id
        peer.bridged_with = call.call_control_id
        self.emit(call, "call.bridged")
        self.emit(peer, "call.bridged")

    def leave_queue(self, call: Call, reason: str) -> None:
        """Take the leg out of its queue with `call.dequeued`."""
        if call.queue is None:
            return
        members = self.queues.get(call.queue, [])
        position = members.index(call.call_control_id) + 1 if call.call_control_id in members else 1
        if call.call_control_id in members:
            members.remove(call.call_control_id)
        waited = int((now() - call.queued_at).total_seconds()) if call.queued_at else 0
        queue, call.queue, call.queued_at = call.queue, None, None
        self.emit(
            call, "call.dequeued", queue=queue, queue_position=position, reason=reason, wait_time_secs=waited
        )

    def start_stream(self, call: Call, url: str | None, track: str | None) -> str:
        """Start a media stream (or report it failed for a non-WebSocket URL); returns the stream id."""
        stream_id = uuid_str()
        if not url or not url.startswith(("ws://", "wss://")):
            self.emit(
                call,
                "streaming.failed",
                stream_id=stream_id,
                stream_type="websocket",
                failure_reason="stream_url must be a ws:// or wss:// URL",
                stream_params={"stream_url": url or "", "track": track or "inbound_track"},
            )
            return stream_id
        call.streams[stream_id] = url
        self.emit(call, "streaming.started", stream_url=url)
        return stream_id

    def stop_streams(self, call: Call, stream_id: str | None = None) -> None:
        """Stop one stream (or all) with `streaming.stopped`."""
        ids = [stream_id] if stream_id else list(call.streams)
        for sid in ids:
            url = call.streams.pop(sid, None)
            if url is not None:
                self.emit(call, "streaming.stopped", stream_url=url)

    def save_recording(self, call: Call) -> None:
        """End the leg's recording with `call.recording.saved` (and its transcription when asked), or with
        `call.recording.error` when its upload is scripted to fail."""
        rec = call.recording
        if rec is None:
            return
        call.recording = None
        if rec.fails:
            self.emit(call, "call.recording.error", reason="Internal server error")
            return
        ext = {"mp3": rec.format == "mp3", "wav": rec.format == "wav"}
        urls = {
            fmt: f"https://sandbox.telnyx.invalid/recordings/{rec.recording_id}.{fmt}"
            for fmt, on in ext.items()
            if on
        }
        self.emit(
            call,
            "call.recording.saved",
            channels=rec.channels,
            recording_started_at=iso(rec.started_at),
            recording_ended_at=iso(now()),
            recording_urls=urls,
            public_recording_urls=urls,
        )
        if rec.transcription:
            self.emit(
                call,
                "call.recording.transcription.saved",
                recording_id=rec.recording_id,
                recording_transcription_id=uuid_str(),
                status="completed",
                calling_party_type="pstn",
                transcription_text="Hello from the voicesvc sandbox.",
            )

    def start_assistant(
        self, call: Call, assistant: dict[str, Any] | None, conversation_id: str | None = None
    ) -> str:
        """Run an AI assistant on the leg (a new conversation unless one is joined); returns its id."""
        call.conversation_id = conversation_id or uuid_str()
        call.assistant_id = (assistant or {}).get("id")
        return call.conversation_id

    def end_conversation(self, call: Call, reason: str) -> None:
        """End the leg's AI conversation: `call.conversation.ended`, then the insights generated from it."""
        if call.conversation_id is None:
            return
        conversation_id, call.conversation_id = call.conversation_id, None
        assistant_id, call.assistant_id = call.assistant_id, None
        self.emit(
            call,
            "call.conversation.ended",
            conversation_id=conversation_id,
            assistant_id=assistant_id,
            reason=reason,
            calling_party_type="pstn",
            duration_sec=call.duration,
        )
        self.emit(
            call,
            "call.conversation_insights.generated",
            insight_group_id=uuid_str(),
            calling_party_type="pstn",
            results=[
                {"insight_id": uuid_str(), "result": "The caller spoke with the sandbox assistant."},
                {"insight_id": uuid_str(), "result": {"sentiment": "neutral", "resolved": True}},
            ],
        )

    def set_hold(self, call: Call, held: bool) -> None:
        """The far end puts the leg on hold (or takes it off): `call.hold` / `call.unhold` on a change."""
        if not call.is_alive:
            raise call_ended()
        if call.state != "answered":
            raise invalid_state("Only an answered call can be put on hold or taken off hold.")
        if call.on_hold == held:
            return
        call.on_hold = held
        self.emit(call, "call.hold" if held else "call.unhold")

    def finish_gather(self, call: Call, status: str | None = None) -> None:
        """End a running gather, with the buffered (or configured) digits unless `status` says otherwise."""
        gather = call.gather
        if gather is None:
            return
        call.gather = None
        if status is not None:
            self.emit(call, "call.gather.ended", digits="", status=status)
            return
        pressed = call.dtmf_buffer or self.config.gather_digits
        call.dtmf_buffer = ""
        digits, status = _collect(pressed, gather)
        self.emit(call, "call.gather.ended", digits=digits, status=status)

    def hangup(
        self,
        call: Call,
        cause: str,
        source: str,
        sip_cause: str,
        custom_headers: list[dict[str, Any]] | None = None,
    ) -> None:
        """End the leg: stop its media, send `call.hangup`, then hang up a bridged peer."""
        if not call.is_alive:
            return
        if call.gather is not None:
            self.finish_gather(call, "call_hangup")
        for playback in list(call.playbacks.values()):
            self.emit(call, "call.playback.ended", status="call_hangup", **playback)
        call.playbacks.clear()
        for _ in range(len(call.speeches)):
            self.emit(call, "call.speak.ended", status="call_hangup")
        call.speeches.clear()
        self.stop_streams(call)
        if call.forking:
            call.forking = False
            self.emit(call, "call.fork.stopped", stream_type="decrypted")
        if call.siprec:
            call.siprec = False
            self.emit(call, "siprec.stopped", hangup_cause="normal_clearing")
        if call.queue is not None:
            self.leave_queue(call, "hangup")
        call.state = "ended"
        call.ended_at = now()
        self.emit(
            call,
            "call.hangup",
            state="hangup",
            hangup_cause=cause,
            hangup_source=source,
            sip_hangup_cause=sip_cause,
            start_time=iso(call.created_at),
            custom_headers=custom_headers or call.custom_headers or None,
            sip_headers=call.sip_headers or None,
        )
        self.save_recording(call)
        self.end_conversation(call, "call_hangup")
        app = self.apps.find(call.connection_id)
        if app is not None and app.get("call_cost_in_webhooks"):
            self.emit(
                call,
                "call.cost",
                billed_duration_secs=call.duration,
                total_cost="0.000",
                status="success",
                occurred_at=iso(now()),
            )
        peer = self.calls.get(call.bridged_with or "")
        if peer is not None and peer.is_alive:
            self.hangup(peer, "normal_clearing", "callee" if source == "caller" else "caller", "200")


def record_on_answer(body: dict[str, Any]) -> dict[str, Any] | None:
    """The recording a dial or answer asks for with `record: record-from-answer`, or None."""
    if body.get("record") != "record-from-answer":
        return None
    return {
        "recording_id": uuid_str(),
        "channels": body.get("record_channels", "single"),
        "format": body.get("record_format", "mp3"),
        "custom_file_name": body.get("record_custom_file_name"),
    }


def _collect(pressed: str, gather: dict[str, Any]) -> tuple[str, str]:
    valid = gather.get("valid_digits") or "0123456789#*"
    terminator = gather.get("terminating_digit") or "#"
    maximum = int(gather.get("maximum_digits") or 128)
    minimum = int(gather.get("minimum_digits") or 1)
    digits = ""
    for digit in pressed:
        if digit == terminator:
            break
        if digit in valid:
            digits += digit
        if len(digits) >= maximum:
            break
    if not digits:
        return "", "timeout"
    return digits, "valid" if len(digits) >= minimum else "invalid"


def _command_meta(name: str, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return {"command": name, "call_control_id": call.call_control_id, "params": body}
