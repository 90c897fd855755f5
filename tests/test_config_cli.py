"""Settings from flags and environment, `voicesvc --help`, and `voicesvc serve` as a real process."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from voicesvc import cli
from voicesvc.config import OPTIONS, ConfigError, Settings, add_arguments
from voicesvc.events.nats import NatsEventLog

VOICESVC = Path(sys.executable).with_name("voicesvc")


def settings(argv: list[str], env: dict[str, str] | None = None) -> Settings:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return Settings.from_sources(parser.parse_args(argv), env or {})


def test_defaults_run_on_the_embedded_sandbox_at_the_documented_addresses() -> None:
    s = settings([])
    assert s.sandbox_mode
    assert s.telnyx.base_url == "https://api.telnyx.com/v2"
    assert (s.serving.grpc_listen, s.serving.http_listen) == ("127.0.0.1:50051", "127.0.0.1:8080")
    assert s.auth.tokens == ()
    assert not s.tls.enabled
    assert s.events.backend == "memory"


def test_environment_fills_settings_and_flags_win() -> None:
    env = {
        "TELNYX_API_KEY": "KEY_env_0123",
        "TELNYX_API_BASE_URL": "http://127.0.0.1:9/v2",
        "VOICESVC_GRPC_LISTEN": "0.0.0.0:6000",
        "VOICESVC_REQUEST_TIMEOUT": "2.5",
        "VOICESVC_RETRY_MAX_ATTEMPTS": "2",
        "VOICESVC_LOG_LEVEL": "WARN",
        "VOICESVC_AUTH_TOKENS": "token-one, token-two",
        "TELNYX_PUBLIC_KEY": "a2V5MQ==,a2V5Mg==",
        "VOICESVC_EVENTS_BACKEND": "nats://127.0.0.1:4222",
    }
    s = settings(["--grpc-listen", "[::1]:7000", "--auth-token", "token-three"], env)
    assert s.telnyx.api_key == "KEY_env_0123"
    assert not s.sandbox_mode
    assert s.telnyx.base_url == "http://127.0.0.1:9/v2"
    assert s.serving.grpc_listen == "[::1]:7000"
    assert s.telnyx.request_timeout_s == 2.5
    assert s.telnyx.retry_max_attempts == 2
    assert s.serving.log_level == "warning"
    assert s.auth.tokens == ("token-three",)
    assert s.webhooks.public_keys == ("a2V5MQ==", "a2V5Mg==")
    assert s.events.backend == "nats://127.0.0.1:4222"
    assert "KEY_env" not in repr(s)
    assert "token-three" not in repr(s)


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["--grpc-listen", "no-port"], {}),
        (["--request-timeout", "0"], {}),
        ([], {"VOICESVC_RETRY_MAX_ATTEMPTS": "many"}),
        (["--log-level", "loud"], {}),
        (["--tls-cert", "cert.pem"], {}),
        (["--tls-client-ca", "ca.pem"], {}),
        (["--events-backend", "redis://x"], {}),
        (["--api-base-url", "api.telnyx.com"], {}),
        (["--events-max-bytes", "0"], {}),
        (["--events-dedup-window", "10"], {}),
        # An empty flag (an unset shell variable) must not switch authentication off or drop the API key.
        (["--auth-token", ""], {"VOICESVC_AUTH_TOKENS": "token-from-env"}),
        ([], {"VOICESVC_AUTH_TOKENS": ","}),
        (["--api-key", ""], {"TELNYX_API_KEY": "KEY_real_0123456789"}),
        (["--auth-token", "short"], {}),
        (["--api-key", "KEY"], {}),
        # Not a number a duration can be.
        (["--webhook-tolerance", "nan"], {}),
        (["--grace-period", "inf"], {}),
        ([], {"VOICESVC_REQUEST_TIMEOUT": "nan"}),
        # URLs and addresses the service could not use.
        (["--api-base-url", "https://[api.telnyx.com/v2"], {}),
        (["--api-base-url", "https://api.telnyx.com:99999/v2"], {}),
        (["--api-base-url", "https://user:pass@api.telnyx.com/v2"], {}),
        (["--events-backend", "nats://[::1"], {}),
        (["--grpc-listen", "::1:0"], {}),
        # Event ids must be remembered at least as long as a delivery may be replayed.
        (["--events-max-age", "60"], {}),
    ],
)
def test_unusable_settings_are_refused(argv: list[str], env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        settings(argv, env)


def test_cli_reports_bad_settings_with_usage_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["serve", "--grpc-listen", "nowhere"], environ={})
    assert exited.value.code == 2
    assert "host:port" in capsys.readouterr().err


def test_serve_help_documents_every_option_and_its_variable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["serve", "--help"])
    text = capsys.readouterr().out
    for opt in OPTIONS:
        assert opt.flag in text, opt.dest
        assert opt.env in text, opt.dest


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    for command in ("serve", "sandbox", "call", "watch"):
        assert command in text


async def test_serve_process_starts_on_the_sandbox_and_stops_on_sigterm() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELNYX_", "VOICESVC_"))}
    env.update({"VOICESVC_GRPC_LISTEN": "127.0.0.1:0", "VOICESVC_HTTP_LISTEN": "127.0.0.1:0"})
    proc = await asyncio.create_subprocess_exec(
        str(VOICESVC),
        "serve",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    lines: list[dict[str, object]] = []
    try:
        async with asyncio.timeout(20):
            while not lines or lines[-1].get("event") != "voicesvc_started":
                raw = await proc.stderr.readline()
                assert raw, f"voicesvc exited early: {lines}"
                lines.append(json.loads(raw))
        assert lines[0]["event"] == "embedded_sandbox"
        target = str(lines[-1]["grpc"])
        async with grpc.aio.insecure_channel(target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            rest = await proc.stderr.read()
            assert await proc.wait() == 0
        events = [json.loads(line)["event"] for line in rest.splitlines() if line.strip()]
        assert "shutting_down" in events
        assert events[-1] == "stopped"
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_nats_log_remembers_event_ids_for_longer_than_the_webhook_tolerance() -> None:
    from voicesvc.server.app import make_event_log

    nats = ["--events-backend", "nats://127.0.0.1:4222"]
    log = make_event_log(settings(nats, {}))
    assert isinstance(log, NatsEventLog)
    assert log.connection.spec.config().duplicate_window == 3600.0
    short = make_event_log(settings([*nats, "--events-max-age", "900"], {}))
    assert isinstance(short, NatsEventLog)
    assert short.connection.spec.config().duplicate_window == 900.0


def test_event_ids_are_remembered_at_least_as_long_as_the_webhook_tolerance() -> None:
    assert Settings.from_values({"webhooks.tolerance_s": 7200}).dedup_window_s == 7200
    assert Settings().dedup_window_s == 3600
    assert Settings.from_values({"events.max_age_s": 600}).dedup_window_s == 600


def test_nats_credentials_travel_in_the_backend_url() -> None:
    for url in ("nats://svc:s3cret-pass@nats.internal:4222", "nats://token-0123456789@nats.internal:4222"):
        assert Settings.from_values({"events.backend": url}).events.backend == url


@pytest.mark.parametrize(
    ("flag", "setting"),
    [
        ("--grpc-listen", "VOICESVC_GRPC_LISTEN"),
        ("--http-listen", "VOICESVC_HTTP_LISTEN"),
        ("--sandbox-listen", "VOICESVC_SANDBOX_LISTEN"),
    ],
)
def test_an_address_in_use_names_its_setting_and_exits_2(flag: str, setting: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELNYX_", "VOICESVC_"))}
    env.update({"VOICESVC_GRPC_LISTEN": "127.0.0.1:0", "VOICESVC_HTTP_LISTEN": "127.0.0.1:0"})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        done = subprocess.run(
            [str(VOICESVC), "serve", flag, address],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    assert f"cannot listen on {address}" in done.stderr
    assert setting in done.stderr
    assert "add_port.cc" not in done.stderr
    assert "Traceback" not in done.stderr
