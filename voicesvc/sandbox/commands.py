"""What each call command does: state changes and the webhooks Telnyx sends for it.

Handlers run after the engine's common checks (known leg, still alive, command_id not seen) and
return the fields the response adds to `{"result": "ok"}`. A `check` runs first and may refuse
the command without side effects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voicesvc.sandbox.engine import CommandCheck, CommandHandler, Engine, record_on_answer
from voicesvc.sandbox.errors import BAD_REQUEST, ApiError, error_object, invalid_state
from voicesvc.sandbox.ids import now, uuid_str
from voicesvc.sandbox.model import Call, Recording


@dataclass(frozen=True)
class Command:
    """A call command: its handler and optional precondition check."""

    handler: CommandHandler
    check: CommandCheck | None = None


COMMANDS: dict[str, Command] = {}

# Commands that need media on the leg: Telnyx refuses them with 422 code 90034 on an outbound leg that has
# not been answered yet (code written against a lenient emulator would fail in production).
MEDIA_COMMANDS = frozenset(
    {
        "playback_start",
        "speak",
        "gather",
        "gather_using_audio",
        "gather_using_speak",
        "gather_using_ai",
        "record_start",
        "streaming_start",
        "fork_start",
        "siprec_start",
        "transcription_start",
        "suppression_start",
        "send_dtmf",
        "ai_assistant_start",
        "ai_assistant_join",
        "conversation_relay_start",
        "pay",
    }
)


def _answered_outbound(engine: Engine, call: Call, body: dict[str, Any]) -> None:
    if call.direction == "outgoing" and call.state == "ringing":
        raise invalid_state(
            "The call has not been answered yet: wait for call.answered before sending media."
        )


def command(name: str, check: CommandCheck | None = None) -> Callable[[CommandHandler], CommandHandler]:
    """Register the handler of `/calls/{id}/actions/<name>` (media commands first check the leg answered)."""

    def register(fn: CommandHandler) -> CommandHandler:
        checks = [c for c in (_answered_outbound if name in MEDIA_COMMANDS else None, check) if c is not None]

        def checked(engine: Engine, call: Call, body: dict[str, Any]) -> None:
            for one in checks:
                one(engine, call, body)

        COMMANDS[name] = Command(fn, checked if checks else None)
        return fn

    return register


def _delay(engine: Engine) -> float:
    return engine.config.media_delay_s


def _schedule(engine: Engine, call: Call, step: Callable[[], None], factor: float = 1.0) -> None:
    def guarded() -> None:
        if call.is_alive:
            step()

    engine.spawn(engine.later(_delay(engine) * factor, guarded))


# ------------------------------------------------------------------ answer, reject, hangup, bridge


def _ringing_incoming(engine: Engine, call: Call, body: dict[str, Any]) -> None:
    if call.direction != "incoming" or call.state != "ringing":
        raise invalid_state("Only a ringing incoming call can be answered or rejected.")


@command("answer", check=_ringing_incoming)
async def answer(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Answer an incoming leg; recording, streaming, an assistant and deepfake detection can start with it."""
    if body.get("webhook_url"):
        call.webhook_url = body["webhook_url"]
    extra: dict[str, Any] = {}
    call.record_on_answer = record_on_answer(body)
    if call.record_on_answer is not None:
        extra["recording_id"] = call.record_on_answer["recording_id"]
    if body.get("stream_url"):
        call.stream_on_answer = {"stream_url": body["stream_url"], "track": body.get("stream_track")}
    call.assistant_on_answer = body.get("assistant")
    call.deepfake = bool((body.get("deepfake_detection") or {}).get("enabled"))
    engine.answer(call)
    return extra


@command("reject", check=_ringing_incoming)
async def reject(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Decline an incoming leg."""
    busy = body.get("cause") == "USER_BUSY"
    engine.hangup(call, "user_busy" if busy else "call_rejected", "callee", "486" if busy else "603")
    return {}


@command("hangup")
async def hangup(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Hang up the leg (and its bridged peer)."""
    engine.hangup(call, "normal_clearing", "caller", "200", body.get("custom_headers"))
    return {}


def _check_bridge(engine: Engine, call: Call, body: dict[str, Any]) -> None:
    other = engine.calls.get(str(body.get("call_control_id")))
    if other is None or other is call or not other.is_alive:
        detail = "The call to bridge with must be another call that is still alive."
        raise ApiError(422, [error_object(BAD_REQUEST, "Invalid value", detail, pointer="/call_control_id")])


@command("bridge", check=_check_bridge)
async def bridge(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Bridge the leg with the body's `call_control_id`."""
    engine.bridge(call, engine.calls[body["call_control_id"]])
    return {}


@command("transfer")
async def transfer(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Dial a new leg and bridge it with this one once it answers."""
    target = engine.dial(
        {
            "connection_id": call.connection_id,
            "from": body.get("from") or call.to,
            "to": body["to"],
            "client_state": body.get("target_leg_client_state"),
            "answering_machine_detection": body.get("answering_machine_detection"),
            "custom_headers": body.get("custom_headers"),
            "sip_headers": body.get("sip_headers"),
            "time_limit_secs": body.get("time_limit_secs"),
        }
    )["data"]
    leg = engine.calls[target["call_control_id"]]
    leg.call_session_id = call.call_session_id
    leg.bridge_on_answer_with = call.call_control_id
    if body.get("webhook_url"):
        leg.webhook_url = body["webhook_url"]
    return {}


@command("client_state_update")
async def client_state_update(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """The engine already stored the new client_state; nothing else happens."""
    return {}


# ------------------------------------------------------------------ media


@command("playback_start")
async def playback_start(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Play audio: `call.playback.started`, then `.ended` unless it loops forever."""
    playback_id = uuid_str()
    info = {
        "media_url": body.get("audio_url"),
        "media_name": body.get("media_name"),
        "overlay": bool(body.get("overlay", False)),
    }
    call.playbacks[playback_id] = info
    engine.emit(call, "call.playback.started", **info)
    if str(body.get("loop", "1")).lower() != "infinity":

        def done() -> None:
            if call.playbacks.pop(playback_id, None) is not None:
                engine.emit(call, "call.playback.ended", status="completed", **info)

        _schedule(engine, call, done)
    return {}


@command("playback_stop")
async def playback_stop(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Stop running playbacks with `call.playback.ended` status `cancelled`."""
    overlay = body.get("overlay")
    for pid, info in list(call.playbacks.items()):
        if overlay is None or info["overlay"] == bool(overlay):
            del call.playbacks[pid]
            engine.emit(call, "call.playback.ended", status="cancelled", **info)
    return {}


def _speak(engine: Engine, call: Call, then: Callable[[], None] | None = None) -> None:
    speech = uuid_str()
    call.speeches.add(speech)
    engine.emit(call, "call.speak.started")

    def done() -> None:
        if speech in call.speeches:  # not already ended by a hangup
            call.speeches.discard(speech)
            engine.emit(call, "call.speak.ended", status="completed")
            if then is not None:
                then()

    _schedule(engine, call, done)


@command("speak")
async def speak(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Text to speech: `call.speak.started`, then `call.speak.ended`."""
    _speak(engine, call)
    return {}


# ------------------------------------------------------------------ gathers


def _start_gather(engine: Engine, call: Call, body: dict[str, Any]) -> None:
    token = uuid_str()
    call.gather = {**body, "token": token}

    def done() -> None:
        if call.gather is not None and call.gather.get("token") == token:
            engine.finish_gather(call)

    _schedule(engine, call, done)


@command("gather")
async def gather(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Collect DTMF: `call.gather.ended` with the digits the simulated caller pressed."""
    _start_gather(engine, call, body)
    return {}


@command("gather_using_audio")
async def gather_using_audio(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Play a prompt, then collect DTMF."""
    playback_id = uuid_str()
    info = {"media_url": body.get("audio_url"), "media_name": body.get("media_name"), "overlay": False}
    call.playbacks[playback_id] = info
    engine.emit(call, "call.playback.started", **info)

    def prompt_done() -> None:
        if call.playbacks.pop(playback_id, None) is not None:
            engine.emit(call, "call.playback.ended", status="completed", **info)
            _start_gather(engine, call, body)

    _schedule(engine, call, prompt_done)
    return {}


@command("gather_using_speak")
async def gather_using_speak(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Speak a prompt, then collect DTMF."""
    _speak(engine, call, then=lambda: _start_gather(engine, call, body))
    return {}


@command("gather_stop")
async def gather_stop(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Cancel a running gather (`call.gather.ended` status `cancelled`)."""
    engine.finish_gather(call, "cancelled")
    return {}


def _sample(schema: Any) -> Any:
    kind = schema.get("type") if isinstance(schema, dict) else None
    return {"integer": 1, "number": 1.0, "boolean": True, "array": [], "object": {}}.get(str(kind), "sandbox")


@command("gather_using_ai")
async def gather_using_ai(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """AI gather: a message history update, with `send_partial_results` one
    `call.ai_gather.partial_results` per parameter as it is filled in, then `call.ai_gather.ended`."""
    conversation_id = uuid_str()
    history = [{"role": "assistant", "content": body.get("greeting") or "Hello."}]
    engine.emit(call, "call.ai_gather.message_history_updated", message_history=history)
    props = (body.get("parameters") or {}).get("properties") or {}
    result = {name: _sample(schema) for name, schema in props.items()} if isinstance(props, dict) else {}
    full = [*history, {"role": "user", "content": "sandbox answer"}]

    def done() -> None:
        engine.emit(call, "call.ai_gather.ended", status="valid", result=result, message_history=full)

    def partials() -> None:
        names = list(result)
        for count in range(1, max(len(names), 1) + 1):
            partial = {name: result[name] for name in names[:count]}
            engine.emit(call, "call.ai_gather.partial_results", partial_results=partial, message_history=full)
        _schedule(engine, call, done, factor=0.5)

    if body.get("send_partial_results"):
        _schedule(engine, call, partials, factor=0.5)
    else:
        _schedule(engine, call, done)
    return {"conversation_id": conversation_id}


# ------------------------------------------------------------------ recording


def _not_recording(engine: Engine, call: Call, body: dict[str, Any]) -> None:
    if call.recording is not None:
        raise invalid_state("A recording is already in progress on this call.")


@command("record_start", check=_not_recording)
async def record_start(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Start recording; `call.recording.saved` (or `.error` for a `custom_file_name` starting with `fail`)
    follows on stop or hangup."""
    call.recording = Recording(
        recording_id=uuid_str(),
        started_at=now(),
        channels=body.get("channels", "single"),
        format=body.get("format", "mp3"),
        transcription=bool(body.get("transcription")),
        custom_file_name=body.get("custom_file_name"),
    )
    return {}


@command("record_stop")
async def record_stop(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Stop recording: `call.recording.saved` with the recording URLs (or `call.recording.error`)."""
    engine.save_recording(call)
    return {}


@command("record_pause")
async def record_pause(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Pause the recording (no webhook)."""
    if call.recording is not None:
        call.recording.paused = True
    return {}


@command("record_resume")
async def record_resume(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Resume the recording (no webhook)."""
    if call.recording is not None:
        call.recording.paused = False
    return {}


# ------------------------------------------------------------------ streaming, forking, siprec, transcription


@command("streaming_start")
async def streaming_start(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Start a media stream: `streaming.started`, or `streaming.failed` for a bad URL scheme."""
    engine.start_stream(call, body.get("stream_url"), body.get("stream_track"))
    return {}


@command("streaming_stop")
async def streaming_stop(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Stop one stream (`stream_id`) or all: `streaming.stopped`."""
    engine.stop_streams(call, body.get("stream_id"))
    return {}


@command("fork_start")
async def fork_start(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Fork media: `call.fork.started`."""
    call.forking = True
    engine.emit(call, "call.fork.started", stream_type=body.get("stream_type", "decrypted"))
    return {}


@command("fork_stop")
async def fork_stop(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Stop forking: `call.fork.stopped`."""
    if call.forking:
        call.forking = False
        engine.emit(call, "call.fork.stopped", stream_type=body.get("stream_type", "decrypted"))
    return {}


@command("siprec_start")
async def siprec_start(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """SIPREC session: `siprec.started` (or `siprec.failed` for a connector named `fail…`)."""
    if str(body.get("connector_name", "")).startswith("fail"):
        engine.emit(call, "siprec.failed", failure_cause="connector unavailable")
        return {}
    call.siprec = True
    engine.emit(call, "siprec.started")
    return {}


@command("siprec_stop")
async def siprec_stop(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """End the SIPREC session: `siprec.stopped`."""
    if call.siprec:
        call.siprec = False
        engine.emit(call, "siprec.stopped", hangup_cause="normal_clearing")
    return {}


@command("transcription_start")
async def transcription_start(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Live transcription: one final `call.transcription` after the media delay."""
    call.transcribing = True
    track = "outbound" if body.get("transcription_tracks") == "outbound" else "inbound"

    def utterance() -> None:
        if call.transcribing:
            engine.emit(
                call,
                "call.transcription",
                transcription_data={
                    "confidence": 0.98,
                    "is_final": True,
                    "transcript": "Hello from the voicesvc sandbox.",
                    "transcription_track": track,
                },
            )

    _schedule(engine, call, utterance)
    return {}


@command("transcription_stop")
async def transcription_stop(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Stop transcribing (no webhook)."""
    call.transcribing = False
    return {}


@command("suppression_start")
async def suppression_start(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Noise suppression on (Telnyx sends no webhook)."""
    return {}


@command("suppression_stop")
async def suppression_stop(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Noise suppression off (Telnyx sends no webhook)."""
    return {}


# ------------------------------------------------------------------ signalling


@command("send_dtmf")
async def send_dtmf(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Send DTMF to the far end (no webhook)."""
    return {}


@command("send_sip_info")
async def send_sip_info(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Send a SIP INFO (no webhook)."""
    return {}


@command("refer")
async def refer(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """SIP REFER: `call.refer.started`, then `.completed` (or `.failed` for an address with `fail`)."""
    engine.emit(call, "call.refer.started", sip_notify_response=100)
    failed = "fail" in str(body.get("sip_address", ""))

    def done() -> None:
        if failed:
            engine.emit(call, "call.refer.failed", sip_notify_response=603)
        else:
            engine.emit(call, "call.refer.completed", sip_notify_response=200)

    _schedule(engine, call, done)
    return {}


@command("switch_supervisor_role")
async def switch_supervisor_role(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Change the supervisor's role (no webhook)."""
    return {}


# ------------------------------------------------------------------ queues


@command("enqueue")
async def enqueue(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Put the leg in a queue: `call.enqueued` with its position."""
    if call.queue is not None:
        engine.leave_queue(call, "leave")
    members = engine.queues.setdefault(body["queue_name"], [])
    members.append(call.call_control_id)
    call.queue = body["queue_name"]
    call.queued_at = now()
    engine.emit(
        call, "call.enqueued", queue=call.queue, current_position=len(members), queue_avg_wait_time_secs=0
    )
    return {}


@command("leave_queue")
async def leave_queue(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Leave the queue: `call.dequeued` reason `leave`."""
    engine.leave_queue(call, "leave")
    return {}


# ------------------------------------------------------------------ AI, conversation relay, payments


@command("ai_assistant_start")
async def ai_assistant_start(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Start an AI assistant on the call; answers with its conversation id."""
    return {"conversation_id": engine.start_assistant(call, body.get("assistant"))}


@command("ai_assistant_join")
async def ai_assistant_join(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Join an existing AI conversation."""
    return {"conversation_id": engine.start_assistant(call, None, body["conversation_id"])}


@command("ai_assistant_add_messages")
async def ai_assistant_add_messages(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Add messages to the assistant's history (no webhook)."""
    return {}


@command("ai_assistant_stop")
async def ai_assistant_stop(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Stop the assistant: `call.conversation.ended`, then `call.conversation_insights.generated`."""
    engine.end_conversation(call, "assistant_stopped")
    return {}


@command("conversation_relay_start")
async def conversation_relay_start(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Start a conversation relay; answers with its id."""
    return {"conversation_relay_id": uuid_str()}


@command("conversation_relay_stop")
async def conversation_relay_stop(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Stop the conversation relay (no webhook)."""
    return {}


@command("pay")
async def pay(engine: Engine, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """Collect a payment: `call.payment.progress`, then `call.payment.completed` with `success`."""
    method = body.get("payment_method", "credit-card")
    engine.emit(
        call,
        "call.payment.progress",
        attempt=1,
        payment_method=method,
        payment_step="payment-processing",
        payment_status="processing",
    )

    def done() -> None:
        card = method == "credit-card"
        engine.emit(
            call,
            "call.payment.completed",
            result="success",
            payment_method=method,
            payment_card_type="visa" if card else None,
            payment_card_number="************4242" if card else None,
            payment_confirmation_code=uuid_str()[:8],
            token_id=uuid_str() if body.get("transaction_type") == "tokenize" else None,
        )

    _schedule(engine, call, done)
    return {}
