"""The server's log stream: lines of one event-loop iteration leave in one write, in order, none lost."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import re
import threading
import time
from datetime import UTC, datetime

import grpc
import pytest
import structlog

from tests.support.logs import reset_logging
from tests.support.voicesvc_process import start_server, stop_process, stop_server
from voicesvc.server.logging import configure_logging
from voicesvc.server.logwriter import BatchingStream
from voicesvc.v1 import call_control_pb2, call_control_pb2_grpc


class CountingStream(io.StringIO):
    """A StringIO that counts its writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


async def test_lines_of_one_loop_iteration_leave_in_one_write_at_its_end() -> None:
    out = CountingStream()
    stream = BatchingStream(out)
    for n in range(100):
        stream.write(f"line {n}\n")
        stream.flush()
    assert out.getvalue() == ""  # still inside the iteration that wrote them
    await asyncio.sleep(0)
    assert out.getvalue() == "".join(f"line {n}\n" for n in range(100))
    assert out.writes == 1


async def test_a_line_from_another_thread_is_written_at_once_after_the_held_ones() -> None:
    out = CountingStream()
    stream = BatchingStream(out)
    stream.write("first\n")
    writer = threading.Thread(target=stream.write, args=("from a thread\n",))
    writer.start()
    writer.join()
    assert out.getvalue() == "first\nfrom a thread\n"
    await asyncio.sleep(0)
    assert out.getvalue() == "first\nfrom a thread\n"


async def test_past_the_limit_the_held_lines_are_written_at_once() -> None:
    out = CountingStream()
    stream = BatchingStream(out, limit=100)
    stream.write("a" * 60 + "\n")
    assert out.getvalue() == ""
    stream.write("b" * 60 + "\n")
    assert out.getvalue() == "a" * 60 + "\n" + "b" * 60 + "\n"


def test_off_the_loop_every_line_is_written_at_once() -> None:
    out = CountingStream()
    stream = BatchingStream(out)
    stream.write("one\n")
    assert out.getvalue() == "one\n"
    stream.write("two\n")
    assert out.getvalue() == "one\ntwo\n"


async def test_batched_logging_keeps_structlog_and_library_lines_in_their_order() -> None:
    out = CountingStream()
    configure_logging(logging.INFO, stream=out, batched=True)
    try:
        structlog.get_logger("voicesvc.test").info("first", n=1)
        logging.getLogger("some.library").warning("second")
        structlog.get_logger("voicesvc.test").info("third", n=3)
        await asyncio.sleep(0)
        events = [json.loads(line)["event"] for line in out.getvalue().splitlines()]
        assert events == ["first", "second", "third"]
        assert out.writes == 1
    finally:
        reset_logging()


def _serve_and_miss_a_call(level: str) -> list[dict[str, object]]:
    """`voicesvc serve` at `level`, one GetCallStatus for a call the sandbox does not know, its log lines."""
    server = start_server({"VOICESVC_LOG_LEVEL": level})
    try:
        with grpc.insecure_channel(server.target) as channel:
            stub = call_control_pb2_grpc.CallControlStub(channel)
            request = call_control_pb2.GetCallStatusRequest(call_control_id="v3:unknown-call")
            with pytest.raises(grpc.RpcError) as missing:
                stub.GetCallStatus(request, metadata=(("x-request-id", "req-log-1"),), timeout=10)
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        stop_process(server.process)  # SIGTERM: what was held leaves before the process ends
        lines = server.log_path.read_text(encoding="utf-8").splitlines()
    finally:
        stop_server(server)
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_voicesvc_serve_logs_each_rpc_once_at_the_configured_level() -> None:
    at_debug = _serve_and_miss_a_call("debug")
    at_info = _serve_and_miss_a_call("info")
    for records in (at_debug, at_info):
        access = [r for r in records if r["event"] == "rpc" and r.get("request_id") == "req-log-1"]
        assert [(r["level"], r["code"], r["upstream_status"]) for r in access] == [("info", "NOT_FOUND", 404)]
        assert records[-1]["event"] == "stopped"
    upstream_attempts = [r for r in at_debug if r["event"] == "telnyx_request"]
    assert [(r["status"], r["request_id"]) for r in upstream_attempts] == [(404, "req-log-1")]
    assert not [r for r in at_info if r["level"] == "debug"]


class _Opaque:
    def __repr__(self) -> str:
        return "<opaque>"


@dataclasses.dataclass
class _WithSecret:
    name: str
    secret: str = dataclasses.field(repr=False)


def test_any_value_renders_as_one_json_line() -> None:
    out = io.StringIO()
    try:
        configure_logging(logging.INFO, stream=out)
        log = structlog.get_logger("voicesvc.test")
        log.info("plain", text="déjà \u2028 \n", n=3, ratio=0.5, flag=True, nothing=None, items=[1, "a"])
        log.info("odd", big=2**70, keyed={1: "one"}, thing=_Opaque())
        log.info("values", record=_WithSecret("n", "s3cr3t"), at=datetime(2026, 1, 2, tzinfo=UTC))
    finally:
        reset_logging()
    text = out.getvalue()
    assert text.isascii()
    plain, odd, values = (json.loads(line) for line in text.splitlines())
    # Written as their repr, as the standard library writes them: a field the repr leaves out stays out.
    assert values["record"] == "_WithSecret(name='n')"
    assert values["at"] == repr(datetime(2026, 1, 2, tzinfo=UTC))
    assert plain["text"] == "déjà \u2028 \n"
    assert (plain["n"], plain["ratio"], plain["flag"], plain["nothing"], plain["items"]) == (
        3,
        0.5,
        True,
        None,
        [1, "a"],
    )
    assert (odd["big"], odd["keyed"]) == (2**70, {"1": "one"})
    assert odd["thing"] == "<opaque>"


def test_every_line_starts_with_its_utc_time_level_and_event() -> None:
    out = io.StringIO()
    before = time.time()
    try:
        configure_logging(logging.DEBUG, stream=out)
        log = structlog.get_logger("voicesvc.test")
        log.warn("deprecated_alias", detail=1)  # noqa: G010 - the alias is what this checks
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed", level="ignored", timestamp="ignored")
        logging.getLogger("aiohttp.test").warning("library %s", "line")
    finally:
        reset_logging()
    after = time.time()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [list(line)[:3] for line in lines] == [["timestamp", "level", "event"]] * 3
    assert [(line["level"], line["event"]) for line in lines] == [
        ("warning", "deprecated_alias"),
        ("error", "failed"),
        ("warning", "library line"),
    ]
    assert "ValueError: boom" in lines[1]["exception"]
    for line in lines:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", line["timestamp"])
        stamp = datetime.strptime(line["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
        assert before - 1e-6 <= stamp <= after
