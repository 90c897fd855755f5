"""The server's log stream: lines of one event-loop iteration leave in one write, in order, none lost."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading

import structlog

from tests.support.logs import reset_logging
from voicesvc.server.logging import configure_logging
from voicesvc.server.logwriter import BatchingStream


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
