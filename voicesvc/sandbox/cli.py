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
import re
import signal
import sys

import structlog

from voicesvc.sandbox.config import SandboxConfig
from voicesvc.sandbox.faults import FaultRule
from voicesvc.sandbox.server import Sandbox


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the sandbox's options to `parser`."""
    defaults = SandboxConfig()
    net = parser.add_argument_group("serving")
    net.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    net.add_argument(
        "--port", type=int, default=0, help="TCP port; 0 picks a free one (default: %(default)s)"
    )
    net.add_argument(
        "--api-key",
        default=None,
        help="bearer key clients must send (default: a random key, printed on start)",
    )
    hooks = parser.add_argument_group("webhooks")
    hooks.add_argument(
        "--webhook-url",
        default=None,
        help="where webhooks go for calls whose connection_id is not a known application",
    )
    hooks.add_argument(
        "--private-key",
        default=None,
        help="base64 Ed25519 seed (32 bytes) that signs webhooks (default: a random key)",
    )
    hooks.add_argument(
        "--standard-webhooks",
        action="store_true",
        help="also sign with Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature)",
    )
    hooks.add_argument(
        "--webhook-attempts",
        type=int,
        default=defaults.webhook_attempts,
        help="delivery attempts per URL before giving up (default: %(default)s)",
    )
    hooks.add_argument(
        "--webhook-backoff",
        type=float,
        default=defaults.webhook_backoff,
        help="first retry delay in seconds, doubling each attempt (default: %(default)s)",
    )
    hooks.add_argument(
        "--webhook-timeout",
        type=float,
        default=defaults.webhook_timeout,
        help="seconds to wait for a webhook receiver (default: %(default)s)",
    )
    calls = parser.add_argument_group("call behaviour")
    calls.add_argument(
        "--answer-delay",
        type=float,
        default=defaults.answer_delay,
        help="seconds from call.initiated until the far end answers (default: %(default)s)",
    )
    calls.add_argument(
        "--media-delay",
        type=float,
        default=defaults.media_delay,
        help="seconds a playback, speech, gather or payment lasts (default: %(default)s)",
    )
    calls.add_argument(
        "--gather-digits",
        default=defaults.gather_digits,
        help="digits the simulated caller enters in a gather (default: %(default)s)",
    )
    faults = parser.add_argument_group(
        "fault injection",
        "faults apply to /v2 requests matching --fault-path (all when unset); "
        "change them at run time through /_sandbox/faults",
    )
    faults.add_argument("--fault-path", default=None, help="regular expression limiting the request faults")
    faults.add_argument("--latency-ms", type=int, default=0, help="added latency per request in milliseconds")
    faults.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        help="share of requests (0-1) answered with --error-status without executing",
    )
    faults.add_argument(
        "--error-status", type=int, default=500, help="status of injected errors (default: %(default)s)"
    )
    faults.add_argument(
        "--rate-limit-rate",
        type=float,
        default=0.0,
        help="share of requests (0-1) answered 429 with Retry-After",
    )
    faults.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds of injected 429s")
    faults.add_argument(
        "--drop-before-rate",
        type=float,
        default=0.0,
        help="share of requests (0-1) whose connection is closed before the request is read",
    )
    faults.add_argument(
        "--drop-after-rate",
        type=float,
        default=0.0,
        help="share of requests (0-1) executed, then closed without an answer",
    )
    faults.add_argument(
        "--webhook-fail-first",
        type=int,
        default=0,
        help="fail the first N webhook delivery attempts (as a 500 from the receiver)",
    )
    faults.add_argument(
        "--webhook-fail-rate",
        type=float,
        default=0.0,
        help="share of webhook delivery attempts (0-1) that fail",
    )
    faults.add_argument("--seed", type=int, default=None, help="random seed for the fault rates")


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """The `SandboxConfig` the parsed options describe."""
    return SandboxConfig(
        api_key=args.api_key,
        webhook_url=args.webhook_url,
        answer_delay=args.answer_delay,
        media_delay=args.media_delay,
        standard_webhooks=args.standard_webhooks,
        private_key=args.private_key,
        gather_digits=args.gather_digits,
        webhook_attempts=args.webhook_attempts,
        webhook_backoff=args.webhook_backoff,
        webhook_timeout=args.webhook_timeout,
        seed=args.seed,
    )


def faults_from_args(args: argparse.Namespace) -> list[FaultRule]:
    """The fault rules the parsed options ask for."""
    path = args.fault_path
    if path is not None:
        try:
            re.compile(path)
        except re.error as exc:
            raise ValueError(f"--fault-path is not a regular expression: {exc}") from None
    rules: list[FaultRule] = []
    if args.latency_ms > 0:
        rules.append(FaultRule(kind="latency", path=path, latency_ms=args.latency_ms))
    if args.drop_before_rate > 0:
        rules.append(FaultRule(kind="drop_before", path=path, rate=args.drop_before_rate))
    if args.rate_limit_rate > 0:
        rules.append(
            FaultRule(kind="rate_limit", path=path, rate=args.rate_limit_rate, retry_after=args.retry_after)
        )
    if args.error_rate > 0:
        rules.append(FaultRule(kind="error", path=path, rate=args.error_rate, status=args.error_status))
    if args.drop_after_rate > 0:
        rules.append(FaultRule(kind="drop_after", path=path, rate=args.drop_after_rate))
    if args.webhook_fail_first > 0:
        rules.append(FaultRule(kind="webhook_fail", count=args.webhook_fail_first))
    if args.webhook_fail_rate > 0:
        rules.append(FaultRule(kind="webhook_fail", rate=args.webhook_fail_rate))
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


async def run(args: argparse.Namespace) -> None:
    """Start the sandbox, print its JSON line, and serve until SIGINT/SIGTERM."""
    _configure_logging()
    try:
        config, rules = config_from_args(args), faults_from_args(args)
    except ValueError as exc:
        print(f"voicesvc sandbox: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    sandbox = Sandbox(config, fault_rules=rules)
    base_url = await sandbox.start(args.host, args.port)
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


def main(argv: list[str] | None = None) -> None:
    """Run the sandbox as `python -m voicesvc.sandbox.cli`."""
    parser = argparse.ArgumentParser(prog="voicesvc sandbox", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
