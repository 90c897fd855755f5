"""In-memory state of call legs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from voicesvc.sandbox.ids import iso, now


@dataclass
class Recording:
    """A recording in progress on a leg."""

    recording_id: str
    started_at: datetime
    channels: str = "single"
    format: str = "mp3"
    paused: bool = False
    transcription: bool = False
    client_state: str | None = None
    custom_file_name: str | None = None

    @property
    def fails(self) -> bool:
        """True when the upload is scripted to fail (a `custom_file_name` starting with `fail`)."""
        return (self.custom_file_name or "").startswith("fail")


@dataclass
class Call:
    """One call leg, as Telnyx tracks it."""

    call_control_id: str
    call_leg_id: str
    call_session_id: str
    connection_id: str
    from_: str
    to: str
    direction: str
    created_at: datetime = field(default_factory=now)
    state: str = "ringing"  # ringing → answered → ended
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    client_state: str | None = None
    webhook_url: str | None = None
    custom_headers: list[dict[str, Any]] = field(default_factory=list)
    sip_headers: list[dict[str, Any]] = field(default_factory=list)
    caller_id_name: str | None = None
    # behaviour chosen at dial time
    outcome: str = "answer"
    amd: str | None = None
    deepfake: bool = False
    record_on_answer: dict[str, Any] | None = None
    stream_on_answer: dict[str, Any] | None = None
    bridge_on_answer_with: str | None = None
    assistant_on_answer: dict[str, Any] | None = None
    # the other legs dialled by the same multi-destination dial
    ring_group: list[str] = field(default_factory=list)
    # live media and features
    bridged_with: str | None = None
    recording: Recording | None = None
    streams: dict[str, str] = field(default_factory=dict)
    forking: bool = False
    siprec: bool = False
    transcribing: bool = False
    queue: str | None = None
    queued_at: datetime | None = None
    conversation_id: str | None = None
    assistant_id: str | None = None
    on_hold: bool = False
    playbacks: dict[str, dict[str, Any]] = field(default_factory=dict)
    speeches: set[str] = field(default_factory=set)
    """Ids of the text-to-speech commands still playing (each ends with its own `call.speak.ended`)."""
    gather: dict[str, Any] | None = None
    dtmf_buffer: str = ""
    # command_id → the response body first given for it
    command_ids: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def is_alive(self) -> bool:
        """True until the leg has hung up."""
        return self.state != "ended"

    @property
    def far_end(self) -> str:
        """The number of the other party: the callee of an outgoing leg, the caller of an incoming one."""
        return self.to if self.direction == "outgoing" else self.from_

    @property
    def duration(self) -> int:
        """Whole seconds since answer (until hangup); 0 before answer."""
        if self.answered_at is None:
            return 0
        end = self.ended_at or now()
        return max(int((end - self.answered_at).total_seconds()), 0)

    def status(self) -> dict[str, Any]:
        """The `data` object of `GET /calls/{call_control_id}`."""
        data: dict[str, Any] = {
            "call_control_id": self.call_control_id,
            "call_leg_id": self.call_leg_id,
            "call_session_id": self.call_session_id,
            "is_alive": self.is_alive,
            "record_type": "call",
            "call_duration": self.duration,
            "start_time": iso(self.created_at),
        }
        if self.client_state is not None:
            data["client_state"] = self.client_state
        if self.ended_at is not None:
            data["end_time"] = iso(self.ended_at)
        return data

    def active_call(self) -> dict[str, Any]:
        """An item of `GET /connections/{connection_id}/active_calls`."""
        return {
            "call_control_id": self.call_control_id,
            "call_duration": self.duration,
            "call_leg_id": self.call_leg_id,
            "call_session_id": self.call_session_id,
            "client_state": self.client_state or "",
            "record_type": "call",
        }

    def admin_view(self) -> dict[str, Any]:
        """Everything the admin API shows about the leg."""
        data = self.status()
        data.update(
            {
                "connection_id": self.connection_id,
                "from": self.from_,
                "to": self.to,
                "direction": self.direction,
                "state": self.state,
                "bridged_with": self.bridged_with,
                "recording_id": self.recording.recording_id if self.recording else None,
                "streams": dict(self.streams),
                "forking": self.forking,
                "siprec": self.siprec,
                "transcribing": self.transcribing,
                "queue": self.queue,
                "conversation_id": self.conversation_id,
                "on_hold": self.on_hold,
                "webhook_url": self.webhook_url,
            }
        )
        return data
