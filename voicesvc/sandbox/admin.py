"""The admin API under `/_sandbox` (no authentication): drive and inspect the sandbox from tests.

| method + path                              | does                                                         |
|--------------------------------------------|--------------------------------------------------------------|
| `GET /_sandbox/info`                       | base URL, API key, public key, settings                      |
| `POST /_sandbox/reset`                     | forget calls, applications, events, journal, faults, counts  |
| `POST /_sandbox/calls/inbound`             | an incoming call (`connection_id`, `from`, `to`, …) rings    |
| `GET /_sandbox/calls[/{id}]`               | legs with their internal state                               |
| `POST /_sandbox/calls/{id}/dtmf`           | the caller presses `digits` (`call.dtmf.received`, gathers)  |
| `POST /_sandbox/calls/{id}/hangup`         | the far end hangs up with a `call.hangup` `cause` |
| `POST /_sandbox/calls/{id}/hold`           | the far end puts the answered call on hold (`call.hold`)     |
| `POST /_sandbox/calls/{id}/unhold`         | the far end takes it off hold again (`call.unhold`)          |
| `GET /_sandbox/executions`                 | how often each command really ran, per leg                   |
| `GET/POST/PUT/DELETE /_sandbox/faults`     | list / add / replace / clear fault rules; `DELETE …/{id}`    |
| `GET/DELETE /_sandbox/requests`            | the request journal (`?path=` substring, `?method=`)         |
| `GET/DELETE /_sandbox/webhooks`            | delivery attempts (`?event_type=`, `?call_control_id=`)      |
| `POST /_sandbox/webhooks/drain`            | wait until every queued webhook is delivered or given up     |
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from voicesvc.sandbox.errors import BAD_REQUEST, ApiError, error_object, not_found
from voicesvc.sandbox.faults import FaultRule
from voicesvc.sandbox.rest_api import error_response
from voicesvc.transcode.descriptors import enum_maps
from voicesvc.v1 import events_pb2

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

    from voicesvc.sandbox.server import Sandbox

ADMIN_PREFIX = "/_sandbox"


def _ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response({"data": data}, status=status)


# The `call.hangup` causes of the contract, with the SIP status a far end hanging up that way answers.
_HANGUP_CAUSE = events_pb2.CallHangupPayload.DESCRIPTOR.fields_by_name["hangup_cause"].enum_type
_SIP_CODE_OF_CAUSE: dict[str, str] = {
    cause: {
        "user_busy": "486",
        "timeout": "408",
        "no_answer": "480",
        "not_found": "404",
        "call_rejected": "603",
        "originator_cancel": "487",
    }.get(cause, "200")
    for cause in enum_maps(_HANGUP_CAUSE)[0].values()
}


def _bad(detail: str, pointer: str = "/") -> ApiError:
    return ApiError(400, [error_object(BAD_REQUEST, "Bad Request", detail, pointer=pointer)])


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise _bad("The request body is not valid JSON.") from None


def _rules(data: Any) -> list[FaultRule]:
    items = data.get("rules") if isinstance(data, dict) and "rules" in data else data
    items = items if isinstance(items, list) else [items]
    rules = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _bad("A fault rule must be a JSON object.", f"/{i}")
        try:
            rules.append(FaultRule.from_dict(item))
        except (TypeError, ValueError) as exc:
            raise _bad(str(exc), f"/{i}") from None
    return rules


class AdminApi:
    """Handlers of the admin routes, bound to one sandbox."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox

    def routes(self) -> list[web.RouteDef]:
        """The aiohttp route table."""
        p = ADMIN_PREFIX
        return [
            web.get(f"{p}/info", self.info),
            web.post(f"{p}/reset", self.reset),
            web.post(f"{p}/calls/inbound", self.inbound),
            web.get(f"{p}/calls", self.calls),
            web.get(f"{p}/calls/{{call_control_id}}", self.call),
            web.post(f"{p}/calls/{{call_control_id}}/dtmf", self.dtmf),
            web.post(f"{p}/calls/{{call_control_id}}/hangup", self.remote_hangup),
            web.post(f"{p}/calls/{{call_control_id}}/hold", self.hold),
            web.post(f"{p}/calls/{{call_control_id}}/unhold", self.unhold),
            web.get(f"{p}/executions", self.executions),
            web.get(f"{p}/faults", self.faults),
            web.post(f"{p}/faults", self.add_faults),
            web.put(f"{p}/faults", self.replace_faults),
            web.delete(f"{p}/faults", self.clear_faults),
            web.delete(f"{p}/faults/{{rule_id}}", self.delete_fault),
            web.get(f"{p}/requests", self.requests),
            web.delete(f"{p}/requests", self.clear_requests),
            web.get(f"{p}/webhooks", self.webhooks),
            web.delete(f"{p}/webhooks", self.clear_webhooks),
            web.post(f"{p}/webhooks/drain", self.drain),
        ]

    @web.middleware
    async def errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Render `ApiError`s of admin handlers as Telnyx-style error bodies."""
        try:
            return await handler(request)
        except ApiError as err:
            return error_response(err)

    async def info(self, request: web.Request) -> web.Response:
        """GET /info: the sandbox's base URL, API key, public key and settings."""
        s = self.sandbox
        cfg = s.config
        return _ok(
            {
                "base_url": s.base_url,
                "api_key": s.api_key,
                "public_key": s.public_key_b64,
                "webhook_url": cfg.webhook_url,
                "answer_delay": cfg.answer_delay_s,
                "media_delay": cfg.media_delay_s,
                "standard_webhooks": cfg.standard_webhooks,
                "gather_digits": cfg.gather_digits,
            }
        )

    async def reset(self, request: web.Request) -> web.Response:
        """POST /reset: back to a blank state; configured fault rules return, keys and settings stay."""
        await self.sandbox.reset()
        return _ok({"result": "ok"})

    async def inbound(self, request: web.Request) -> web.Response:
        """POST /calls/inbound: start a ringing incoming call on a connection."""
        body = await _json_body(request)
        if not isinstance(body, dict) or not body.get("connection_id"):
            raise _bad("connection_id is required.", "/connection_id")
        call = self.sandbox.engine.inbound(body)
        return _ok(call.admin_view(), status=201)

    async def calls(self, request: web.Request) -> web.Response:
        """GET /calls: every call the sandbox knows."""
        return _ok([c.admin_view() for c in self.sandbox.engine.calls.values()])

    async def call(self, request: web.Request) -> web.Response:
        """GET /calls/{call_control_id}: one call."""
        return _ok(self.sandbox.engine.get_call(request.match_info["call_control_id"]).admin_view())

    async def dtmf(self, request: web.Request) -> web.Response:
        """POST /calls/{call_control_id}/dtmf: the far end presses digits."""
        engine = self.sandbox.engine
        call = engine.get_call(request.match_info["call_control_id"])
        body = await _json_body(request)
        digits = body.get("digits") if isinstance(body, dict) else None
        if not isinstance(digits, str) or not digits:
            raise _bad("digits must be a non-empty string.", "/digits")
        if call.is_alive:
            for digit in digits:
                engine.emit(call, "call.dtmf.received", digit=digit)
            call.dtmf_buffer += digits
            if call.gather is not None:
                engine.finish_gather(call)
        return _ok(call.admin_view())

    async def remote_hangup(self, request: web.Request) -> web.Response:
        """POST /calls/{call_control_id}/hangup: the far end hangs up, with an optional cause."""
        engine = self.sandbox.engine
        call = engine.get_call(request.match_info["call_control_id"])
        body = await _json_body(request)
        cause = body.get("cause", "normal_clearing") if isinstance(body, dict) else "normal_clearing"
        if not isinstance(cause, str) or cause not in _SIP_CODE_OF_CAUSE:
            raise _bad(f"cause must be one of {', '.join(_SIP_CODE_OF_CAUSE)}.", "/cause")
        engine.hangup(call, cause, "callee", _SIP_CODE_OF_CAUSE[cause])
        return _ok(call.admin_view())

    async def hold(self, request: web.Request) -> web.Response:
        """POST /calls/{call_control_id}/hold: the far end puts the call on hold."""
        return self._set_hold(request, True)

    async def unhold(self, request: web.Request) -> web.Response:
        """POST /calls/{call_control_id}/unhold: the far end takes the call off hold."""
        return self._set_hold(request, False)

    def _set_hold(self, request: web.Request, held: bool) -> web.Response:
        engine = self.sandbox.engine
        call = engine.get_call(request.match_info["call_control_id"])
        engine.set_hold(call, held)
        return _ok(call.admin_view())

    async def executions(self, request: web.Request) -> web.Response:
        """GET /executions: how often each command ran per call (`call_control_id` narrows it)."""
        wanted = request.query.get("call_control_id")
        rows = [
            {"call_control_id": cid, "command": name, "count": n}
            for (cid, name), n in self.sandbox.engine.executions.items()
            if wanted is None or cid == wanted
        ]
        return _ok(rows)

    async def faults(self, request: web.Request) -> web.Response:
        """GET /faults: the active fault rules."""
        return _ok([r.to_dict() for r in self.sandbox.faults.rules])

    async def add_faults(self, request: web.Request) -> web.Response:
        """POST /faults: add fault rules."""
        added = [self.sandbox.faults.add(r) for r in _rules(await _json_body(request))]
        return _ok([r.to_dict() for r in added], status=201)

    async def replace_faults(self, request: web.Request) -> web.Response:
        """PUT /faults: replace every fault rule."""
        rules = _rules(await _json_body(request))
        self.sandbox.faults.reset()
        return _ok([self.sandbox.faults.add(r).to_dict() for r in rules])

    async def clear_faults(self, request: web.Request) -> web.Response:
        """DELETE /faults: remove every fault rule."""
        self.sandbox.faults.reset()
        return _ok([])

    async def delete_fault(self, request: web.Request) -> web.Response:
        """DELETE /faults/{rule_id}: remove one fault rule."""
        if not self.sandbox.faults.remove(request.match_info["rule_id"]):
            raise not_found("fault rule")
        return _ok([r.to_dict() for r in self.sandbox.faults.rules])

    async def requests(self, request: web.Request) -> web.Response:
        """GET /requests: the REST requests received, oldest first (`path` and `method` narrow them)."""
        entries = self.sandbox.journal.entries(request.query.get("path"), request.query.get("method"))
        return _ok([e.to_dict() for e in entries])

    async def clear_requests(self, request: web.Request) -> web.Response:
        """DELETE /requests: forget the received requests."""
        self.sandbox.journal.clear()
        return _ok([])

    async def webhooks(self, request: web.Request) -> web.Response:
        """GET /webhooks: the webhook delivery attempts (`event_type` and `call_control_id` narrow them)."""
        event_type = request.query.get("event_type")
        key = request.query.get("call_control_id")
        rows = [
            a.to_dict()
            for a in self.sandbox.dispatcher.attempts
            if (event_type is None or a.event_type == event_type) and (key is None or a.key == key)
        ]
        return _ok(rows)

    async def clear_webhooks(self, request: web.Request) -> web.Response:
        """DELETE /webhooks: forget the webhook delivery attempts."""
        self.sandbox.dispatcher.reset()
        return _ok([])

    async def drain(self, request: web.Request) -> web.Response:
        """POST /webhooks/drain: wait up to `timeout` seconds for pending webhooks to be delivered."""
        try:
            timeout = float(request.query.get("timeout", "10"))
        except ValueError:
            raise _bad("timeout must be a number of seconds.", "/timeout") from None
        done = await self.sandbox.dispatcher.drain(timeout)
        return _ok({"drained": done, "pending": self.sandbox.dispatcher.pending})
