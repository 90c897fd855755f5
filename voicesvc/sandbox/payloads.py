"""Which call attributes each webhook event type carries in its payload."""

from __future__ import annotations

from typing import Any

from voicesvc.sandbox.model import Call

_IDS = ("call_control_id", "call_leg_id", "call_session_id", "client_state", "connection_id")
_PARTIES = (*_IDS, "from", "to")

# Call-derived payload keys per event type; event-specific keys are passed by the engine.
CALL_FIELDS: dict[str, tuple[str, ...]] = {
    "call.ai_gather.ended": _PARTIES,
    "call.ai_gather.message_history_updated": _PARTIES,
    "call.ai_gather.partial_results": _PARTIES,
    "call.answered": _PARTIES,
    "call.bridged": _PARTIES,
    "call.conversation.ended": _PARTIES,
    "call.conversation_insights.generated": _IDS,
    "call.cost": _IDS,
    "call.deepfake_detection.error": _IDS,
    "call.deepfake_detection.result": _IDS,
    "call.dtmf.received": _PARTIES,
    "call.enqueued": _IDS,
    "call.dequeued": _IDS,
    "call.fork.started": _IDS,
    "call.fork.stopped": _IDS,
    "call.gather.ended": _PARTIES,
    "call.hangup": _PARTIES,
    "call.hold": _PARTIES,
    "call.unhold": _PARTIES,
    "call.initiated": _PARTIES,
    "call.machine.detection.ended": _PARTIES,
    "call.machine.greeting.ended": _PARTIES,
    "call.machine.premium.detection.ended": _PARTIES,
    "call.machine.premium.greeting.ended": _PARTIES,
    "call.payment.completed": _PARTIES,
    "call.payment.progress": _PARTIES,
    "call.playback.started": _IDS,
    "call.playback.ended": _IDS,
    "call.recording.error": _IDS,
    # Telnyx leaves the call control id out of this one.
    "call.recording.saved": ("call_leg_id", "call_session_id", "client_state", "connection_id"),
    "call.recording.transcription.saved": _IDS,
    "call.refer.started": _PARTIES,
    "call.refer.completed": _PARTIES,
    "call.refer.failed": _PARTIES,
    "siprec.started": _IDS,
    "siprec.stopped": _IDS,
    "siprec.failed": _IDS,
    "call.speak.started": _IDS,
    "call.speak.ended": _IDS,
    "streaming.started": _IDS,
    "streaming.stopped": _IDS,
    "streaming.failed": _IDS,
    "call.transcription": _IDS,
}


def build_payload(call: Call, event_type: str, extra: dict[str, Any]) -> dict[str, Any]:
    """The payload of `event_type` for `call`: its listed call attributes plus `extra` (None dropped)."""
    values = {
        "call_control_id": call.call_control_id,
        "call_leg_id": call.call_leg_id,
        "call_session_id": call.call_session_id,
        "client_state": call.client_state,
        "connection_id": call.connection_id,
        "from": call.from_,
        "to": call.to,
    }
    payload = {k: values[k] for k in CALL_FIELDS[event_type] if values[k] is not None}
    payload.update({k: v for k, v in extra.items() if v is not None})
    return payload
