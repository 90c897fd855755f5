"""The event loop `voicesvc serve` runs on: uvloop where installed unless told otherwise, and said so."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.support.voicesvc_process import running_server
from voicesvc import cli

HAVE_UVLOOP = importlib.util.find_spec("uvloop") is not None


def started_loop(log: str) -> str:
    for line in log.splitlines():
        record = json.loads(line)
        if record.get("event") == "voicesvc_started":
            return str(record["loop"])
    raise AssertionError("no voicesvc_started line")


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("asyncio", "asyncio"),
        ("auto", "uvloop" if HAVE_UVLOOP else "asyncio"),
        pytest.param(
            "uvloop", "uvloop", marks=pytest.mark.skipif(not HAVE_UVLOOP, reason="uvloop is not installed")
        ),
    ],
)
def test_the_start_up_line_names_the_loop_the_setting_chose(setting: str, expected: str) -> None:
    with running_server({"VOICESVC_EVENT_LOOP": setting}) as server:
        assert started_loop(server.log_path.read_text()) == expected


def test_an_unknown_loop_is_refused_with_the_usage_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["serve", "--event-loop", "twisted"], environ={})
    assert exited.value.code == 2
    assert "event_loop must be one of auto, uvloop, asyncio" in capsys.readouterr().err


@pytest.mark.skipif(HAVE_UVLOOP, reason="uvloop is installed")
def test_asking_for_uvloop_without_it_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["serve", "--event-loop", "uvloop"], environ={})
    assert exited.value.code == 2
    assert "needs the uvloop package" in capsys.readouterr().err
