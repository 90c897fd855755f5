"""Waiting in the event log for the webhook that reports a command's outcome.

The pairing of a command and its outcome events is the `(voicesvc.v1.outcome)` option of the command's
RPC, read here off its descriptor. An `OutcomeWait` is opened before the command is sent: it reads the log
from the position it had then, so an outcome stored before the command's response came back is still
found, whichever replica received the webhook (the NATS log is shared).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from google.protobuf.descriptor import MethodDescriptor

from voicesvc import jsontext
from voicesvc.events.log import EventLog, Start, StoredEvent, Subscription
from voicesvc.v1 import options_pb2

__all__ = ["CallEnded", "Outcome", "OutcomeSpec", "OutcomeWait", "outcome_spec"]

HANGUP = "call.hangup"


@dataclass(frozen=True, slots=True)
class OutcomeSpec:
    """The event types that report a command's success or failure."""

    success: frozenset[str]
    failure: frozenset[str]

    @property
    def event_types(self) -> list[str]:
        """Every event type the wait reads: the outcomes and the hangup that may come first."""
        return sorted(self.success | self.failure | {HANGUP})


def outcome_spec(method: MethodDescriptor) -> OutcomeSpec | None:
    """The outcome declared on `method`, or None when it declares none."""
    options = method.GetOptions()
    if not options.HasExtension(options_pb2.outcome):
        return None
    declared = options.Extensions[options_pb2.outcome]
    return OutcomeSpec(frozenset(declared.success), frozenset(declared.failure))


@dataclass(frozen=True, slots=True)
class Outcome:
    """The event that reported the outcome, and whether it reports success."""

    event: StoredEvent
    succeeded: bool


class CallEnded(Exception):
    """The leg hung up before the command's outcome was reported."""

    def __init__(self, event: StoredEvent, payload: dict[str, Any]) -> None:
        super().__init__(f"the call ended ({payload.get('hangup_cause') or 'no cause given'})")
        self.event = event
        self.payload = payload


def _payload(stored: StoredEvent) -> dict[str, Any]:
    try:
        body = jsontext.loads(stored.raw)
    except ValueError:
        return {}
    data = body.get("data") if isinstance(body, dict) else None
    payload = data.get("payload") if isinstance(data, dict) else None
    return payload if isinstance(payload, dict) else {}


class OutcomeWait:
    """A read of the log, opened before a command is sent, that finds the command's outcome."""

    def __init__(self, subscription: Subscription, spec: OutcomeSpec) -> None:
        self._subscription = subscription
        self._spec = spec

    @classmethod
    async def open(cls, log: EventLog, spec: OutcomeSpec) -> OutcomeWait:
        """Start reading `log` at its current end; raises what `EventLog.subscribe` raises."""
        return cls(await log.subscribe(Start.now(), spec.event_types), spec)

    async def result(self, call_control_id: str, call_leg_id: str = "") -> Outcome:
        """The first outcome event of the leg (matched by call control id, or leg id for events that carry
        only that); raises `CallEnded` when the leg's hangup comes first. Bound it with a timeout."""
        async for stored in self._subscription:
            payload = _payload(stored)
            ids = (payload.get("call_control_id"), payload.get("call_leg_id"))
            if call_control_id != ids[0] and not (call_leg_id and call_leg_id == ids[1]):
                continue
            if stored.event_type in self._spec.success:
                return Outcome(stored, succeeded=True)
            if stored.event_type in self._spec.failure:
                return Outcome(stored, succeeded=False)
            if stored.event_type == HANGUP:
                raise CallEnded(stored, payload)
        raise EOFError("the event log read ended")  # only when closed underneath

    async def close(self) -> None:
        """Stop reading the log."""
        await self._subscription.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
