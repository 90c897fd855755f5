"""The call event log behind `GET /call_events`: one entry per command and per webhook."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from voicesvc.sandbox.errors import BAD_REQUEST, ApiError, error_object
from voicesvc.sandbox.ids import iso, now, parse_iso
from voicesvc.sandbox.model import Call
from voicesvc.transcode.pointer import join, query_parameter


@dataclass
class CallEvent:
    """One logged command or webhook of a call leg."""

    occurred: datetime
    type: str  # "command" | "webhook"
    name: str
    metadata: dict[str, Any]
    call_control_id: str
    call_leg_id: str
    call_session_id: str
    connection_id: str
    from_: str
    to: str
    failed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The item shape of `GET /call_events`."""
        return {
            "call_leg_id": self.call_leg_id,
            "call_session_id": self.call_session_id,
            "event_timestamp": iso(self.occurred),
            "metadata": self.metadata,
            "name": self.name,
            "record_type": "call_event",
            "type": self.type,
        }


_STATUS = {"ringing": "init", "answered": "in_progress", "ended": "completed"}
_OPS = ("eq", "gt", "gte", "lt", "lte")


class CallEventLog:
    """Call events in the order they happened."""

    def __init__(self) -> None:
        self._events: list[CallEvent] = []

    def clear(self) -> None:
        """Forget every event."""
        self._events.clear()

    def record(
        self, call: Call, type_: str, name: str, metadata: dict[str, Any], failed: bool = False
    ) -> None:
        """Append one event for `call`."""
        self._events.append(
            CallEvent(
                occurred=now(),
                type=type_,
                name=name,
                metadata=metadata,
                call_control_id=call.call_control_id,
                call_leg_id=call.call_leg_id,
                call_session_id=call.call_session_id,
                connection_id=call.connection_id,
                from_=call.from_,
                to=call.to,
                failed=failed,
            )
        )

    def webhooks(self) -> list[dict[str, Any]]:
        """Every webhook event (the envelope's `data`) in the order the sandbox sent them."""
        return [dict(ev.metadata) for ev in self._events if ev.type == "webhook"]

    def query(
        self,
        filters: Mapping[str, str],
        call_state: Callable[[str], str | None],
        app_lookup: Callable[[str], Mapping[str, Any] | None],
    ) -> list[dict[str, Any]]:
        """Events matching the `filter[...]` values, oldest first."""
        bounds = _time_bounds(filters)
        out = []
        for ev in self._events:
            if not _simple_match(ev, filters):
                continue
            if any(not _compare(ev.occurred, op, ts) for op, ts in bounds):
                continue
            status = filters.get("status")
            if status and _STATUS.get(call_state(ev.call_control_id) or "", "") != status:
                continue
            if not _app_match(ev, filters, app_lookup):
                continue
            out.append(ev.to_dict())
        return out


def _simple_match(ev: CallEvent, filters: Mapping[str, str]) -> bool:
    checks = {
        "type": ev.type,
        "name": ev.name,
        "leg_id": ev.call_leg_id,
        "application_session_id": ev.call_session_id,
        "connection_id": ev.connection_id,
        "from": ev.from_,
        "to": ev.to,
    }
    for key, actual in checks.items():
        wanted = filters.get(key)
        if wanted is not None and wanted != actual:
            return False
    failed = filters.get("failed")
    if failed is not None and (failed.lower() == "true") != ev.failed:
        return False
    product = filters.get("product")
    return not (product and product != "call_control")


def _app_match(
    ev: CallEvent, filters: Mapping[str, str], app_lookup: Callable[[str], Mapping[str, Any] | None]
) -> bool:
    contains = filters.get("application_name.contains")
    profile = filters.get("outbound.outbound_voice_profile_id")
    if not contains and not profile:
        return True
    app = app_lookup(ev.connection_id)
    if app is None:
        return False
    if contains and contains.lower() not in str(app.get("application_name", "")).lower():
        return False
    return not (profile and app.get("outbound", {}).get("outbound_voice_profile_id") != profile)


def _time_bounds(filters: Mapping[str, str]) -> list[tuple[str, datetime]]:
    bounds = []
    for op in _OPS:
        raw = filters.get(f"occurred_at.{op}")
        if raw is None:
            continue
        try:
            bounds.append((op, parse_iso(raw)))
        except ValueError:
            at = join("filter", "occurred_at", op)
            name = query_parameter(at)
            raise ApiError(
                422,
                [
                    error_object(
                        BAD_REQUEST,
                        "Invalid value",
                        f"{name} must be an ISO 8601 date-time.",
                        pointer=at,
                        parameter=name,
                    )
                ],
            ) from None
    return bounds


def _compare(value: datetime, op: str, bound: datetime) -> bool:
    if op == "eq":
        return value == bound
    if op == "gt":
        return value > bound
    if op == "gte":
        return value >= bound
    if op == "lt":
        return value < bound
    return value <= bound
