"""Fault injection in the sandbox: latency, errors, 429, dropped connections, scoping and the admin API."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.support.sandbox import Api, fast_config
from voicesvc.sandbox import FaultRule, Sandbox

DIAL = {"connection_id": "conn", "from": "+1555", "to": "+1666"}


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    sandbox = Sandbox(fast_config())
    await sandbox.start("127.0.0.1", 0)
    async with aiohttp.ClientSession() as session:
        yield Api(sandbox, session)
    await sandbox.stop()


async def _live(api: Api) -> str:
    call = api.sandbox.engine.inbound({"connection_id": "conn"})
    api.sandbox.engine.answer(call)
    return call.call_control_id


async def test_latency_is_applied_and_journaled(api: Api) -> None:
    await api.admin("POST", "/faults", {"kind": "latency", "latency_ms": 20, "count": 1})
    reply = await api.call("GET", "/call_events")
    assert reply.status == 200
    assert api.sandbox.journal.entries()[-1].faults == ["latency"]


async def test_error_with_chosen_status_does_not_execute(api: Api) -> None:
    await api.admin("POST", "/faults", {"kind": "error", "status": 503, "path": "^/calls$", "count": 1})
    reply = await api.call("POST", "/calls", json_body=DIAL)
    assert reply.status == 503
    assert reply.body["errors"][0]["code"] == "10007"
    assert api.sandbox.engine.calls == {}
    assert (await api.call("POST", "/calls", json_body=DIAL)).status == 200


async def test_rate_limit_answers_429_with_retry_after(api: Api) -> None:
    await api.admin("POST", "/faults", {"kind": "rate_limit", "retry_after": 7, "count": 1})
    reply = await api.call("GET", "/call_events")
    assert reply.status == 429
    assert reply.headers["Retry-After"] == "7"
    assert reply.body["errors"][0]["code"] == "10011"


async def test_drop_before_read_closes_without_executing(api: Api) -> None:
    cid = await _live(api)
    api.sandbox.faults.add(FaultRule(kind="drop_before", path="/actions/speak$", count=1))
    with pytest.raises(aiohttp.ClientError):
        await api.call("POST", f"/calls/{cid}/actions/speak", json_body={"payload": "a", "voice": "b"})
    assert api.sandbox.engine.executions[(cid, "speak")] == 0
    entry = api.sandbox.journal.entries(path="/actions/speak")[-1]
    assert entry.faults == ["drop_before"]
    assert entry.body is None


async def test_drop_after_read_executes_then_closes(api: Api) -> None:
    cid = await _live(api)
    api.sandbox.faults.add(FaultRule(kind="drop_after", path="/actions/speak$", count=1))
    body = {"payload": "a", "voice": "b", "command_id": "once"}
    with pytest.raises(aiohttp.ClientError):
        await api.call("POST", f"/calls/{cid}/actions/speak", json_body=body)
    assert api.sandbox.engine.executions[(cid, "speak")] == 1
    # the safe retry: same command_id, acknowledged, not run again
    retry = await api.call("POST", f"/calls/{cid}/actions/speak", json_body=body)
    assert retry.status == 200
    assert api.sandbox.engine.executions[(cid, "speak")] == 1


async def test_count_scoped_rule_expires_and_path_scope_spares_others(api: Api) -> None:
    await api.admin("POST", "/faults", {"kind": "error", "status": 500, "path": "/call_events", "count": 2})
    assert (await api.call("GET", "/call_control_applications")).status == 200
    assert [(await api.call("GET", "/call_events")).status for _ in range(3)] == [500, 500, 200]
    rules = (await api.admin("GET", "/faults")).body["data"]
    assert rules[0]["remaining"] == 0


async def test_rate_zero_never_fires_and_method_scope(api: Api) -> None:
    await api.admin(
        "POST",
        "/faults",
        [{"kind": "error", "rate": 0.0}, {"kind": "error", "status": 502, "method": "DELETE"}],
    )
    assert (await api.call("GET", "/call_events")).status == 200
    assert (await api.call("DELETE", "/call_control_applications/1")).status == 502


async def test_fault_admin_replace_delete_and_reset(api: Api) -> None:
    added = (await api.admin("POST", "/faults", {"kind": "latency", "latency_ms": 1})).body["data"]
    assert (await api.admin("DELETE", f"/faults/{added[0]['id']}")).status == 200
    assert (await api.admin("DELETE", "/faults/nope")).status == 404
    replaced = await api.admin("PUT", "/faults", {"rules": [{"kind": "rate_limit"}, {"kind": "drop_after"}]})
    assert [r["kind"] for r in replaced.body["data"]] == ["rate_limit", "drop_after"]
    bad = await api.admin("POST", "/faults", {"kind": "meteor"})
    assert bad.status == 400
    assert (await api.admin("DELETE", "/faults")).body["data"] == []
    assert (await api.call("GET", "/call_events")).status == 200


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "error", "path": "("},
        {"kind": "error", "status": "abc"},
        {"kind": "error", "status": 99},
        {"kind": "error", "status": 200},
        {"kind": "latency", "latency_ms": "100"},
        {"kind": "latency", "latency_ms": -5},
        {"kind": "error", "method": 5},
        {"kind": "webhook_fail", "event_type": 7},
        {"kind": "webhook_fail", "status": 42},
        {"kind": "rate_limit", "retry_after": True},
    ],
)
async def test_rules_that_could_not_work_are_refused_leaving_no_trace(api: Api, rule: dict[str, Any]) -> None:
    reply = await api.admin("POST", "/faults", rule)
    assert reply.status == 400, reply.body
    assert (await api.admin("GET", "/faults")).body["data"] == []
    assert (await api.call("GET", "/call_events")).status == 200


async def test_a_request_ends_one_way_when_an_error_and_a_drop_after_both_match(api: Api) -> None:
    await api.admin(
        "PUT",
        "/faults",
        {
            "rules": [
                {"kind": "error", "path": "/calls$", "status": 503, "count": 1},
                {"kind": "drop_after", "path": "/calls$", "count": 1},
            ]
        },
    )
    assert (await api.call("POST", "/calls", json_body=DIAL)).status == 503
    # The drop is still pending: it applies to the next request, which is executed, then dropped.
    with pytest.raises(aiohttp.ClientError):
        await api.call("POST", "/calls", json_body=DIAL)
    assert (await api.call("POST", "/calls", json_body=DIAL)).status == 200
    assert len(api.sandbox.engine.calls) == 2


@pytest.mark.parametrize(
    "flags",
    [
        ["--webhook-attempts", "0"],
        ["--webhook-timeout", "0"],
        ["--webhook-timeout", "nan"],
        ["--error-rate", "1.5"],
        ["--fault-path", "("],
        ["--answer-delay", "-1"],
    ],
)
def test_cli_refuses_values_that_could_not_work(flags: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "voicesvc.cli", "sandbox", "--port", "0", *flags],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, (flags, done.stderr)
    assert done.stderr.startswith("voicesvc sandbox: error:")
    assert "Traceback" not in done.stderr


async def test_journal_records_the_exact_request_without_auth(api: Api) -> None:
    await api.call("POST", "/calls", json_body={**DIAL, "client_state": "eA=="})
    await api.call("GET", "/call_events", params={"filter[occurred_at][gte]": "2020-01-01T00:00:00Z"})
    entries = (await api.admin("GET", "/requests")).body["data"]
    dial, events = entries
    assert (dial["method"], dial["path"], dial["body"], dial["status"]) == (
        "POST",
        "/v2/calls",
        {**DIAL, "client_state": "eA=="},
        200,
    )
    assert "authorization" not in {k.lower() for k in dial["headers"]}
    assert events["query"] == [["filter[occurred_at][gte]", "2020-01-01T00:00:00Z"]]
    only_posts = (await api.admin("GET", "/requests", params={"method": "POST"})).body["data"]
    assert len(only_posts) == 1


def test_cli_flags_become_rules() -> None:
    import argparse

    from voicesvc.sandbox.cli import add_arguments, faults_from, values_from

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--latency-ms",
            "5",
            "--error-rate",
            "0.5",
            "--error-status",
            "502",
            "--rate-limit-rate",
            "1",
            "--retry-after",
            "3",
            "--drop-before-rate",
            "0.1",
            "--drop-after-rate",
            "0.2",
            "--webhook-fail-first",
            "2",
            "--fault-path",
            "actions",
        ]
    )
    rules = {r.kind: r for r in faults_from(values_from(args, {}))}
    assert set(rules) == {"latency", "error", "rate_limit", "drop_before", "drop_after", "webhook_fail"}
    assert (rules["error"].status, rules["error"].rate, rules["error"].path) == (502, 0.5, "actions")
    assert rules["rate_limit"].retry_after == 3
    assert rules["webhook_fail"].count == 2
