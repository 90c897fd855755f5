"""The access-log line, written without structlog's bound-logger machinery under the service's logging
configuration: the same line structlog writes, at the same levels, redacted the same way."""

from __future__ import annotations

import asyncio
import json
import logging

import structlog
import structlog.testing

from tests.support.logs import captured_logs
from voicesvc.server import logging as service_logging
from voicesvc.server.context import RpcRecord, current_rpc
from voicesvc.server.interceptors import RpcInterceptor
from voicesvc.server.logging import write_line
from voicesvc.server.metrics import Metrics

ACCESS = structlog.get_logger("voicesvc.access")
SECRET = "KEY_0123456789abcdef"
FIELDS = {"code": "OK", "latency_ms": 0.512, "upstream_status": 200, "peer": f"ipv4:127.0.0.1:1 {SECRET}"}
CONTEXT = {"request_id": "req-1", "rpc": "/voicesvc.v1.CallControl/GetCallStatus"}


def test_the_line_is_the_one_structlog_writes_with_the_log_context_bound() -> None:
    with captured_logs(logging.INFO, secrets=[SECRET]) as out:
        write_line(ACCESS, "info", "rpc", {**FIELDS, **CONTEXT})
        with structlog.contextvars.bound_contextvars(**CONTEXT):
            ACCESS.info("rpc", **FIELDS)
    direct, through_structlog = (json.loads(line) for line in out.getvalue().splitlines())
    head = ["timestamp", "level", "event", "code", "latency_ms", "upstream_status", "peer"]
    assert list(direct) == [*head, "request_id", "rpc"]
    # structlog merges the log context in the order its variables happen to be stored.
    assert list(through_structlog)[:7] == head
    assert set(through_structlog) == set(direct)
    direct.pop("timestamp")
    through_structlog.pop("timestamp")
    assert direct == through_structlog
    assert direct["peer"] == "ipv4:127.0.0.1:1 [redacted]"


def test_lines_below_the_configured_level_are_not_written() -> None:
    with captured_logs(logging.WARNING) as out:
        for level in ("debug", "info", "warning", "error"):
            write_line(ACCESS, level, "rpc", {**FIELDS, "code": level})
    assert [json.loads(line)["level"] for line in out.getvalue().splitlines()] == ["warning", "error"]
    with captured_logs(logging.DEBUG) as out:
        write_line(ACCESS, "debug", "rpc", FIELDS)
    assert [json.loads(line)["level"] for line in out.getvalue().splitlines()] == ["debug"]


def test_a_later_structlog_configuration_receives_the_lines() -> None:
    with captured_logs(logging.INFO) as out:
        with structlog.testing.capture_logs() as captured:
            write_line(ACCESS, "info", "rpc", FIELDS)
        assert out.getvalue() == ""
        assert captured == [{"event": "rpc", "log_level": "info", **FIELDS}]
        write_line(ACCESS, "info", "rpc", FIELDS)  # the service's configuration is back
        assert json.loads(out.getvalue())["event"] == "rpc"


def test_without_the_service_configuration_the_line_goes_through_structlog() -> None:
    with structlog.testing.capture_logs() as captured:
        write_line(ACCESS, "error", "rpc", FIELDS)
    assert captured == [{"event": "rpc", "log_level": "error", **FIELDS}]


async def test_a_line_logged_during_an_rpc_names_its_request_id_and_method() -> None:
    record = RpcRecord(request_id="req-ctx", rpc="/voicesvc.v1.CallControl/GetCallStatus")

    async def inside_the_rpc() -> None:
        current_rpc.set(record)
        structlog.get_logger("voicesvc.test").warning("inner", n=1)
        logging.getLogger("some.library").warning("library line")

    with captured_logs(logging.INFO) as out:
        await asyncio.create_task(inside_the_rpc())
        structlog.get_logger("voicesvc.test").warning("outside")
    inner, library, outside = (json.loads(line) for line in out.getvalue().splitlines())
    for line in (inner, library):
        assert (line["request_id"], line["rpc"]) == ("req-ctx", record.rpc)
    assert "request_id" not in outside


class _Context:
    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("x-request-id", "req-bound"),)

    def peer(self) -> str:
        return "ipv4:127.0.0.1:1"


async def test_under_another_structlog_configuration_the_rpc_binds_its_log_context() -> None:
    interceptor = RpcInterceptor(Metrics())

    async def begin(in_chain: bool) -> dict[str, object]:
        service_logging.rpc_context_in_chain = in_chain
        try:
            interceptor._begin("/pkg.S/M", _Context())
            return structlog.contextvars.get_contextvars()
        finally:
            service_logging.rpc_context_in_chain = False

    assert await asyncio.create_task(begin(in_chain=False)) == {"request_id": "req-bound", "rpc": "/pkg.S/M"}
    assert await asyncio.create_task(begin(in_chain=True)) == {}
