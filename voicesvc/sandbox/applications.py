"""Call control applications: storage, defaults, filters and sort."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from voicesvc.sandbox.errors import not_found
from voicesvc.sandbox.ids import iso, now, numeric_id

# What Telnyx fills in for fields a create request leaves out.
_DEFAULTS: dict[str, Any] = {
    "active": True,
    "anchorsite_override": "Latency",
    "call_cost_in_webhooks": False,
    "dtmf_type": "RFC 2833",
    "first_command_timeout": False,
    "first_command_timeout_secs": 30,
    "inbound": {
        "channel_limit": 10,
        "shaken_stir_enabled": False,
        "sip_subdomain": "",
        "sip_subdomain_receive_settings": "from_anyone",
    },
    "outbound": {"channel_limit": 10, "outbound_voice_profile_id": ""},
    "redact_dtmf_debug_logging": False,
    "tags": [],
    "webhook_api_version": "1",
    "webhook_event_failover_url": "",
    "webhook_timeout_secs": 25,
}

SORT_KEYS = ("created_at", "connection_name", "active")


class ApplicationStore:
    """Applications by id, in creation order."""

    def __init__(self) -> None:
        self._apps: dict[str, dict[str, Any]] = {}

    def clear(self) -> None:
        """Delete every application."""
        self._apps.clear()

    def find(self, app_id: str) -> dict[str, Any] | None:
        """The stored application (not a copy) or None."""
        return self._apps.get(app_id)

    def get(self, app_id: str) -> dict[str, Any]:
        """A copy of one application; 404 when unknown."""
        app = self._apps.get(app_id)
        if app is None:
            raise not_found("call control application")
        return copy.deepcopy(app)

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Store a new application with a generated id and timestamps."""
        stamp = iso(now())
        app: dict[str, Any] = {"id": numeric_id(), "record_type": "call_control_application"}
        app.update(copy.deepcopy(_DEFAULTS))
        _merge(app, body)
        app["created_at"] = stamp
        app["updated_at"] = stamp
        self._apps[app["id"]] = app
        return copy.deepcopy(app)

    def update(self, app_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Apply a PATCH; nested `inbound`/`outbound` objects are merged key by key."""
        app = self._apps.get(app_id)
        if app is None:
            raise not_found("call control application")
        _merge(app, body)
        app["updated_at"] = iso(now())
        return copy.deepcopy(app)

    def delete(self, app_id: str) -> dict[str, Any]:
        """Remove an application and return it as it was."""
        app = self._apps.pop(app_id, None)
        if app is None:
            raise not_found("call control application")
        return app

    def list(self, filters: Mapping[str, str], sort: str | None) -> list[dict[str, Any]]:
        """Applications matching the `filter[...]` query values, sorted."""
        apps = [copy.deepcopy(a) for a in self._apps.values() if _matches(a, filters)]
        key = (sort or "created_at").lstrip("-")
        if key == "connection_name":
            apps.sort(key=lambda a: a.get("application_name", "").lower())
        elif key == "active":
            # active applications first, then by creation
            apps.sort(key=lambda a: (not a.get("active", True), a["created_at"]))
        else:
            apps.sort(key=lambda a: a["created_at"])
        if sort and sort.startswith("-"):
            apps.reverse()
        return apps


def _merge(app: dict[str, Any], body: Mapping[str, Any]) -> None:
    for key, value in body.items():
        if isinstance(value, dict) and isinstance(app.get(key), dict):
            app[key].update(copy.deepcopy(value))
        else:
            app[key] = copy.deepcopy(value)


def _matches(app: Mapping[str, Any], filters: Mapping[str, str]) -> bool:
    contains = filters.get("application_name.contains")
    if contains and contains.lower() not in str(app.get("application_name", "")).lower():
        return False
    profile = filters.get("outbound.outbound_voice_profile_id")
    if profile and app.get("outbound", {}).get("outbound_voice_profile_id") != profile:
        return False
    connection = filters.get("connection_id")
    if connection and app["id"] != connection:
        return False
    product = filters.get("product")
    return not (product and product != "call_control")
