"""Every endpoint of the reference, served by the sandbox: one success and one validation failure each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.support.reference import endpoint_id, endpoints, response_item_schema, sample
from tests.support.sandbox import Api, fast_config
from voicesvc.sandbox import Sandbox

ENDPOINTS = endpoints()
LIST_META = {"page_number", "page_size", "total_pages", "total_results"}


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    sandbox = Sandbox(fast_config())
    await sandbox.start("127.0.0.1", 0)
    async with aiohttp.ClientSession() as session:
        yield Api(sandbox, session)
    await sandbox.stop()


def _live_call(sandbox: Sandbox, connection_id: str = "conn-1", answered: bool = True) -> str:
    call = sandbox.engine.inbound({"connection_id": connection_id})
    if answered:
        sandbox.engine.answer(call)
    return call.call_control_id


def _required_body(ep: dict[str, Any]) -> dict[str, Any]:
    schema = ep.get("body") or {"properties": {}}
    body = {k: sample(schema["properties"][k], name=k) for k in schema.get("required", [])}
    for optional in ("client_state", "command_id"):
        if optional in schema["properties"] and optional not in body:
            body[optional] = "Y2xpZW50" if optional == "client_state" else f"cmd-{ep['path']}"
    return body


async def _prepare(api: Api, ep: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """The concrete path and body of a request that must succeed."""
    sandbox = api.sandbox
    path = ep["path"]
    body = _required_body(ep) if "body" in ep else None
    if "{call_control_id}" in path:
        name = path.rsplit("/", 1)[1]
        cid = _live_call(sandbox, answered=name not in ("answer", "reject"))
        path = path.replace("{call_control_id}", cid)
        if name == "bridge":
            assert body is not None
            body["call_control_id"] = _live_call(sandbox)
    if "{id}" in path or "{connection_id}" in path or path == "/call_control_applications":
        app = sandbox.engine.apps.create({"application_name": "app", "webhook_event_url": ""})
        path = path.replace("{id}", app["id"]).replace("{connection_id}", app["id"])
        if "{connection_id}" in ep["path"]:
            _live_call(sandbox, connection_id=app["id"])
    return path, body


def _assert_shape(ep: dict[str, Any], reply_body: dict[str, Any]) -> None:
    schema, is_list = response_item_schema(ep)
    allowed = set(schema.get("properties", {}))
    required = set(schema.get("required", []))
    if is_list:
        assert set(reply_body) == {"data", "meta"}
        assert set(reply_body["meta"]) == LIST_META
        items = reply_body["data"]
        assert items, "the prepared state should list at least one item"
    else:
        assert set(reply_body) == {"data"}
        items = [reply_body["data"]]
    for item in items:
        assert set(item) <= allowed, set(item) - allowed
        assert required <= set(item), required - set(item)


@pytest.mark.parametrize("ep", ENDPOINTS, ids=endpoint_id)
async def test_endpoint_succeeds_with_reference_shape(api: Api, ep: dict[str, Any]) -> None:
    path, body = await _prepare(api, ep)
    if ep["path"] == "/call_events":
        await api.call("POST", "/calls", json_body={"connection_id": "c", "from": "+1555", "to": "+1666"})
    reply = await api.call(ep["method"], path, json_body=body)
    expected = 201 if ep["method"] == "POST" and ep["path"] == "/call_control_applications" else 200
    assert reply.status == expected, reply.body
    _assert_shape(ep, reply.body)
    if "/actions/" in ep["path"]:
        assert reply.body["data"]["result"] == "ok"


def _wrong_value(schema: dict[str, Any]) -> Any:
    if "enum" in schema:
        return "definitely-not-allowed"
    wrong: dict[str | None, Any] = {"string": 12345, "integer": "seven", "number": "many", "boolean": "yes"}
    return wrong.get(schema.get("type"), 3)


def _invalid_request(ep: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str] | None, str]:
    """(body, query, expected pointer) of a request with one badly typed field."""
    if "body" in ep:
        props = ep["body"]["properties"]
        simple = ("string", "integer", "boolean")
        name = next(k for k, v in props.items() if "enum" in v or v.get("type") in simple)
        body = _required_body(ep)
        body[name] = _wrong_value(props[name])
        return body, None, f"/{name}"
    if "query" in ep and "page[size]" in ep["query"]["properties"]:
        return None, {"page[size]": "lots"}, "/page[size]"
    return None, {"unexpected": "1"}, "/unexpected"


@pytest.mark.parametrize("ep", ENDPOINTS, ids=endpoint_id)
async def test_endpoint_rejects_a_badly_typed_field(api: Api, ep: dict[str, Any]) -> None:
    path, _ = await _prepare(api, ep)
    body, query, pointer = _invalid_request(ep)
    reply = await api.call(ep["method"], path, json_body=body, params=query)
    assert reply.status == 422, reply.body
    errors = reply.body["errors"]
    assert pointer in [e["source"]["pointer"] for e in errors]
    for err in errors:
        assert {"code", "title", "detail", "source"} <= set(err)


REQUIRED = [ep for ep in ENDPOINTS if ep.get("body", {}).get("required")]


@pytest.mark.parametrize("ep", REQUIRED, ids=endpoint_id)
async def test_endpoint_names_each_missing_required_field(api: Api, ep: dict[str, Any]) -> None:
    path, _ = await _prepare(api, ep)
    reply = await api.call(ep["method"], path, json_body={})
    assert reply.status == 422, reply.body
    pointers = {e["source"]["pointer"] for e in reply.body["errors"]}
    assert pointers == {f"/{name}" for name in ep["body"]["required"]}
    assert {e["code"] for e in reply.body["errors"]} == {"10004"}
