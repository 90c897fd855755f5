"""The emulated Telnyx REST API under `/v2`: auth, fault injection, journal, validation, dispatch."""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web

from voicesvc.sandbox.commands import COMMANDS
from voicesvc.sandbox.engine import Engine
from voicesvc.sandbox.errors import (
    BAD_REQUEST,
    ApiError,
    error_object,
    injected_error,
    not_found,
    unauthorized,
)
from voicesvc.sandbox.faults import FaultInjector
from voicesvc.sandbox.filters import parse_filters
from voicesvc.sandbox.journal import JournalEntry, RequestJournal
from voicesvc.sandbox.paging import paginate, parse_page
from voicesvc.sandbox.validation import validate_request
from voicesvc.transcode.routes import ROUTES, Route, match_route

log = structlog.get_logger("voicesvc.sandbox.rest")

PREFIX = "/v2"


@dataclass(frozen=True)
class Ctx:
    """One validated request, as the route handlers see it."""

    engine: Engine
    route: Route
    params: dict[str, str]
    query: list[tuple[str, str]]
    body: Any


Handler = Callable[[Ctx], Awaitable[web.Response]]


class DroppedConnection(Exception):
    """The fault injector closed the client's connection; nothing must be written back."""


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=json.dumps)


def error_response(err: ApiError) -> web.Response:
    """The HTTP response for an `ApiError`."""
    return _json(err.body(), status=err.status, headers=err.headers)


# ------------------------------------------------------------------ handlers per route


async def _dial(c: Ctx) -> web.Response:
    return _json(c.engine.dial(c.body))


async def _status(c: Ctx) -> web.Response:
    return _json({"data": c.engine.get_call(c.params["call_control_id"]).status()})


async def _action(c: Ctx) -> web.Response:
    name = c.route.path_template.rsplit("/", 1)[1]
    cmd = COMMANDS[name]
    return _json(await c.engine.execute(name, c.params["call_control_id"], c.body, cmd.handler, cmd.check))


async def _apps_list(c: Ctx) -> web.Response:
    page = parse_page(dict(c.query))
    apps = c.engine.apps.list(parse_filters(c.query), dict(c.query).get("sort"))
    return _json(paginate(apps, page))


async def _apps_create(c: Ctx) -> web.Response:
    return _json({"data": c.engine.apps.create(c.body)}, status=201)


async def _apps_get(c: Ctx) -> web.Response:
    return _json({"data": c.engine.apps.get(c.params["id"])})


async def _apps_update(c: Ctx) -> web.Response:
    return _json({"data": c.engine.apps.update(c.params["id"], c.body)})


async def _apps_delete(c: Ctx) -> web.Response:
    return _json({"data": c.engine.apps.delete(c.params["id"])})


async def _call_events(c: Ctx) -> web.Response:
    page = parse_page(dict(c.query))
    events = c.engine.events.query(parse_filters(c.query), c.engine.call_state, c.engine.apps.find)
    return _json(paginate(events, page))


async def _active_calls(c: Ctx) -> web.Response:
    connection_id = c.params["connection_id"]
    page = parse_page(dict(c.query))
    if not c.engine.connection_known(connection_id):
        raise not_found("connection")
    calls = [
        call.active_call()
        for call in c.engine.calls.values()
        if call.connection_id == connection_id and call.is_alive
    ]
    return _json(paginate(calls, page))


HANDLERS: dict[tuple[str, str], Handler] = {
    ("POST", "/calls"): _dial,
    ("GET", "/calls/{call_control_id}"): _status,
    ("GET", "/call_control_applications"): _apps_list,
    ("POST", "/call_control_applications"): _apps_create,
    ("GET", "/call_control_applications/{id}"): _apps_get,
    ("PATCH", "/call_control_applications/{id}"): _apps_update,
    ("DELETE", "/call_control_applications/{id}"): _apps_delete,
    ("GET", "/call_events"): _call_events,
    ("GET", "/connections/{connection_id}/active_calls"): _active_calls,
}


def handler_for(route: Route) -> Handler:
    """The sandbox behaviour behind a contract route."""
    found = HANDLERS.get((route.http_method, route.path_template))
    if found is not None:
        return found
    if "/actions/" in route.path_template and route.path_template.rsplit("/", 1)[1] in COMMANDS:
        return _action
    raise LookupError(f"no sandbox handler for {route.http_method} {route.path_template}")


# Every route of the contract must be served; fail at import rather than at request time.
for _route in ROUTES:
    handler_for(_route)


# ------------------------------------------------------------------ the application


class RestApi:
    """Request pipeline of `/v2`: journal → faults → auth → route → validate → handler."""

    def __init__(self, engine: Engine, faults: FaultInjector, journal: RequestJournal, api_key: str):
        self.engine = engine
        self.faults = faults
        self.journal = journal
        self.api_key = api_key

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one request below `/v2`."""
        path = request.path[len(PREFIX) :] or "/"
        query = [(k, v) for k, v in request.query.items()]
        entry = self.journal.record(
            request.method, request.path, request.query_string, query, dict(request.headers)
        )
        decision = self.faults.for_request(request.method, path)
        entry.faults = list(decision.applied)
        if decision.latency_ms:
            await asyncio.sleep(decision.latency_ms / 1000)
        terminal = decision.terminal
        if terminal is not None and terminal.kind == "drop_before":
            _drop(request)
            raise DroppedConnection
        await self._read_body(request, entry)
        if terminal is not None:
            err = injected_error(terminal.status)
            if terminal.kind == "rate_limit":
                err.headers["Retry-After"] = str(terminal.retry_after)
            return self._finish(entry, error_response(err))
        response = await self._serve(request, path, query, entry)
        if decision.drop_after:
            _drop(request)
            raise DroppedConnection
        return self._finish(entry, response)

    @staticmethod
    def _finish(entry: JournalEntry, response: web.Response) -> web.Response:
        entry.status = response.status
        return response

    @staticmethod
    async def _read_body(request: web.Request, entry: JournalEntry) -> None:
        raw = await request.read()
        if not raw:
            return
        entry.raw_body = raw.decode("utf-8", "replace")
        try:
            entry.body = json.loads(raw)
        except ValueError:
            entry.body = None

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        given = token.strip().encode()
        return scheme.lower() == "bearer" and hmac.compare_digest(given, self.api_key.encode())

    async def _serve(
        self, request: web.Request, path: str, query: list[tuple[str, str]], entry: JournalEntry
    ) -> web.Response:
        try:
            if not self._authorized(request):
                raise unauthorized()
            matched = match_route(request.method, path)
            if matched is None:
                raise not_found("URL")
            route, params = matched
            body = self._body(route, entry)
            validate_request(route, params, query, body)
            return await handler_for(route)(Ctx(self.engine, route, params, query, body))
        except ApiError as err:
            return error_response(err)
        except Exception:
            log.exception("sandbox_handler_failed", path=path)
            return error_response(injected_error(500))

    @staticmethod
    def _body(route: Route, entry: JournalEntry) -> Any:
        if not route.has_body:
            return None
        if entry.raw_body is None:
            return {}
        if entry.body is None:
            detail = "The request body is not valid JSON."
            raise ApiError(400, [error_object(BAD_REQUEST, "Bad Request", detail, pointer="/")])
        return entry.body


def _drop(request: web.Request) -> None:
    """Close the client's connection without an HTTP response."""
    transport = request.transport
    if transport is not None:
        transport.abort()
