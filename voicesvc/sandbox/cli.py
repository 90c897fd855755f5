"""`voicesvc sandbox`: run the Telnyx Voice API emulator on its own.

On start it prints one JSON line to stdout — `{"base_url", "api_key", "public_key"}` — so a script
can read where to send requests and which key verifies the webhooks; logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Mapping
from typing import Any

import structlog

from voicesvc.options import Option, add_options, resolve
from voicesvc.sandbox.config import SandboxConfig
from voicesvc.sandbox.faults import FaultRule
from voicesvc.sandbox.server import Sandbox

_DEFAULTS = SandboxConfig()
_ENV = "VOICESVC_SANDBOX_"

OPTIONS: tuple[Option, ...] = (
    Option("host", "--host", _ENV + "HOST", group="serving", metavar="HOST", help="interface to listen on"),
    Option(
        "port", "--port", _ENV + "PORT", int, "serving", metavar="PORT", help="TCP port; 0 picks a free one"
    ),
    Option(
        "api_key",
        "--api-key",
        _ENV + "API_KEY",
        group="serving",
        metavar="KEY",
        secret=True,
        help="bearer key clients must send (default: a random key, printed on start)",
    ),
    Option(
        "webhook_url",
        "--webhook-url",
        _ENV + "WEBHOOK_URL",
        group="webhooks",
        metavar="URL",
        help="where webhooks go for calls whose connection_id is not a known application",
    ),
    Option(
        "private_key",
        "--private-key",
        _ENV + "PRIVATE_KEY",
        group="webhooks",
        metavar="BASE64",
        secret=True,
        help="base64 Ed25519 seed (32 bytes) that signs webhooks (default: a random key)",
    ),
    Option(
        "standard_webhooks",
        "--standard-webhooks",
        _ENV + "STANDARD_WEBHOOKS",
        group="webhooks",
        switch=True,
        help="also sign with Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature)",
    ),
    Option(
        "webhook_attempts",
        "--webhook-attempts",
        _ENV + "WEBHOOK_ATTEMPTS",
        int,
        "webhooks",
        metavar="N",
        help="delivery attempts per URL before giving up",
    ),
    Option(
        "webhook_backoff_s",
        "--webhook-backoff",
        _ENV + "WEBHOOK_BACKOFF",
        float,
        "webhooks",
        metavar="SECONDS",
        help="first retry delay, doubling each attempt",
    ),
    Option(
        "webhook_timeout_s",
        "--webhook-timeout",
        _ENV + "WEBHOOK_TIMEOUT",
        float,
        "webhooks",
        metavar="SECONDS",
        help="how long to wait for a webhook receiver",
    ),
    Option(
        "answer_delay_s",
        "--answer-delay",
        _ENV + "ANSWER_DELAY",
        float,
        "calls",
        metavar="SECONDS",
        help="from call.initiated until the far end answers",
    ),
    Option(
        "media_delay_s",
        "--media-delay",
        _ENV + "MEDIA_DELAY",
        float,
        "calls",
        metavar="SECONDS",
        help="how long a playback, speech, gather or payment lasts",
    ),
    Option(
        "gather_digits",
        "--gather-digits",
        _ENV + "GATHER_DIGITS",
        group="calls",
        metavar="DIGITS",
        help="digits the simulated caller enters in a gather",
    ),
    Option(
        "fault_path",
        "--fault-path",
        _ENV + "FAULT_PATH",
        group="faults",
        metavar="REGEX",
        help="regular expression limiting the request faults",
    ),
    Option(
        "latency_ms",
        "--latency-ms",
        _ENV + "LATENCY_MS",
        int,
        "faults",
        metavar="MS",
        help="added latency per request in milliseconds",
    ),
    Option(
        "error_rate",
        "--error-rate",
        _ENV + "ERROR_RATE",
        float,
        "faults",
        metavar="SHARE",
        help="share of requests (0-1) answered with --error-status without executing",
    ),
    Option(
        "error_status",
        "--error-status",
        _ENV + "ERROR_STATUS",
        int,
        "faults",
        metavar="STATUS",
        help="status of injected errors",
    ),
    Option(
        "rate_limit_rate",
        "--rate-limit-rate",
        _ENV + "RATE_LIMIT_RATE",
        float,
        "faults",
        metavar="SHARE",
        help="share of requests (0-1) answered 429 with Retry-After",
    ),
    Option(
        "retry_after",
        "--retry-after",
        _ENV + "RETRY_AFTER",
        int,
        "faults",
        metavar="SECONDS",
        help="Retry-After of injected 429s",
    ),
    Option(
        "drop_before_rate",
        "--drop-before-rate",
        _ENV + "DROP_BEFORE_RATE",
        float,
        "faults",
        metavar="SHARE",
        help="share of requests (0-1) whose connection is closed before the request is read",
    ),
    Option(
        "drop_after_rate",
        "--drop-after-rate",
        _ENV + "DROP_AFTER_RATE",
        float,
        "faults",
        metavar="SHARE",
        help="share of requests (0-1) executed, then closed without an answer",
    ),
    Option(
        "webhook_fail_first",
        "--webhook-fail-first",
        _ENV + "WEBHOOK_FAIL_FIRST",
        int,
        "faults",
        metavar="N",
        help="fail the first N webhook delivery attempts (as a 500 from the receiver)",
    ),
    Option(
        "webhook_fail_rate",
        "--webhook-fail-rate",
        _ENV + "WEBHOOK_FAIL_RATE",
        float,
        "faults",
        metavar="SHARE",
        help="share of webhook delivery attempts (0-1) that fail",
    ),
    Option(
        "webhook_reorder_rate",
        "--webhook-reorder-rate",
        _ENV + "WEBHOOK_REORDER_RATE",
        float,
        "faults",
        metavar="SHARE",
        help="share of webhooks (0-1) delivered after the call's next one (out of order)",
    ),
    Option(
        "webhook_duplicate_rate",
        "--webhook-duplicate-rate",
        _ENV + "WEBHOOK_DUPLICATE_RATE",
        float,
        "faults",
        metavar="SHARE",
        help="share of webhooks (0-1) delivered twice, the copy after the call's next one",
    ),
    Option(
        "seed", "--seed", _ENV + "SEED", int, "faults", metavar="N", help="random seed for the fault rates"
    ),
)

DEFAULTS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 0,
    "api_key": None,
    "webhook_url": None,
    "private_key": None,
    "standard_webhooks": False,
    "webhook_attempts": _DEFAULTS.webhook_attempts,
    "webhook_backoff_s": _DEFAULTS.webhook_backoff_s,
    "webhook_timeout_s": _DEFAULTS.webhook_timeout_s,
    "answer_delay_s": _DEFAULTS.answer_delay_s,
    "media_delay_s": _DEFAULTS.media_delay_s,
    "gather_digits": _DEFAULTS.gather_digits,
    "fault_path": None,
    "latency_ms": 0,
    "error_rate": 0.0,
    "error_status": 500,
    "rate_limit_rate": 0.0,
    "retry_after": 1,
    "drop_before_rate": 0.0,
    "drop_after_rate": 0.0,
    "webhook_fail_first": 0,
    "webhook_fail_rate": 0.0,
    "webhook_reorder_rate": 0.0,
    "webhook_duplicate_rate": 0.0,
    "seed": None,
}
"""What each option is when neither its flag nor its variable is given."""

_GROUP_TITLES = {
    "serving": "serving",
    "webhooks": "webhooks",
    "calls": "call behaviour",
    "faults": "fault injection (applies to /v2 requests matching --fault-path, all when unset; change at run "
    "time through /_sandbox/faults)",
}

_CONFIG_FIELDS = (
    "api_key",
    "webhook_url",
    "private_key",
    "standard_webhooks",
    "webhook_attempts",
    "webhook_backoff_s",
    "webhook_timeout_s",
    "answer_delay_s",
    "media_delay_s",
    "gather_digits",
    "seed",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the sandbox's options to `parser`, each with its environment variable."""
    add_options(parser, OPTIONS, DEFAULTS, _GROUP_TITLES)


def values_from(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, Any]:
    """Every option's value: flag, else environment variable, else its default."""
    return {**DEFAULTS, **resolve(OPTIONS, args, environ)}


def config_from(values: Mapping[str, Any]) -> SandboxConfig:
    """The `SandboxConfig` the option values describe."""
    return SandboxConfig(**{name: values[name] for name in _CONFIG_FIELDS})


def faults_from(values: Mapping[str, Any]) -> list[FaultRule]:
    """The fault rules the option values ask for."""
    path = values["fault_path"]
    if path is not None:
        try:
            re.compile(path)
        except re.error as exc:
            raise ValueError(f"--fault-path is not a regular expression: {exc}") from None
    rules: list[FaultRule] = []
    if values["latency_ms"] > 0:
        rules.append(FaultRule(kind="latency", path=path, latency_ms=values["latency_ms"]))
    if values["drop_before_rate"] > 0:
        rules.append(FaultRule(kind="drop_before", path=path, rate=values["drop_before_rate"]))
    if values["rate_limit_rate"] > 0:
        rules.append(
            FaultRule(
                kind="rate_limit",
                path=path,
                rate=values["rate_limit_rate"],
                retry_after=values["retry_after"],
            )
        )
    if values["error_rate"] > 0:
        rules.append(
            FaultRule(kind="error", path=path, rate=values["error_rate"], status=values["error_status"])
        )
    if values["drop_after_rate"] > 0:
        rules.append(FaultRule(kind="drop_after", path=path, rate=values["drop_after_rate"]))
    if values["webhook_fail_first"] > 0:
        rules.append(FaultRule(kind="webhook_fail", count=values["webhook_fail_first"]))
    if values["webhook_fail_rate"] > 0:
        rules.append(FaultRule(kind="webhook_fail", rate=values["webhook_fail_rate"]))
    if values["webhook_reorder_rate"] > 0:
        rules.append(FaultRule(kind="webhook_reorder", rate=values["webhook_reorder_rate"]))
    if values["webhook_duplicate_rate"] > 0:
        rules.append(FaultRule(kind="webhook_duplicate", rate=values["webhook_duplicate_rate"]))
    return rules


def _configure_logging() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
    )


async def run(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> None:
    """Start the sandbox, print its JSON line, and serve until SIGINT/SIGTERM."""
    _configure_logging()
    try:
        values = values_from(args, os.environ if environ is None else environ)
        config, rules = config_from(values), faults_from(values)
    except ValueError as exc:
        print(f"voicesvc sandbox: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    sandbox = Sandbox(config, fault_rules=rules)
    base_url = await sandbox.start(values["host"], values["port"])
    structlog.get_logger("voicesvc.sandbox").info("sandbox_started", base_url=base_url)
    line = {"base_url": base_url, "api_key": sandbox.api_key, "public_key": sandbox.public_key_b64}
    print(json.dumps(line), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Loops without Unix signal support (Windows) cannot install handlers; Ctrl-C still ends the run.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await sandbox.stop()
        structlog.get_logger("voicesvc.sandbox").info("sandbox_stopped")


def main(argv: list[str] | None = None) -> None:
    """Run the sandbox as `python -m voicesvc.sandbox.cli`."""
    parser = argparse.ArgumentParser(prog="voicesvc sandbox", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
