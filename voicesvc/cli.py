"""The `voicesvc` command: `serve` runs the gRPC facade, `sandbox` runs the Telnyx emulator alone, and
`call` / `watch` talk to a running voicesvc."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any

import structlog

from voicesvc import config

_SERVE_EPILOG = """\
Flags override environment variables, which override the defaults. Without TELNYX_API_KEY the service
runs against the embedded sandbox (an emulator of the Telnyx API) and says so in its first log line.
SIGTERM or SIGINT shuts down gracefully: health turns NOT_SERVING, no new RPCs are accepted, in-flight
RPCs get --grace-period seconds to finish, and streams then end with UNAVAILABLE.
"""


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="voicesvc", description=__doc__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the gRPC facade over the Telnyx Voice API",
        description="Run the gRPC facade over the Telnyx Voice API (Call Control), with an HTTP server for "
        "webhooks, /healthz, /readyz and /metrics.",
        epilog=_SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    config.add_arguments(serve)
    serve.set_defaults(subparser=serve)
    from voicesvc.sandbox import cli as sandbox_cli

    sandbox = commands.add_parser(
        "sandbox",
        help="run the Telnyx Voice API sandbox on its own",
        description=(sandbox_cli.__doc__ or "").strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sandbox_cli.add_arguments(sandbox)
    from voicesvc.client import cli as client_cli

    client_cli.add_arguments(commands)
    return parser


def _serve(args: argparse.Namespace, parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> int:
    from voicesvc.events.log import EventLogError
    from voicesvc.server.logging import configure_logging

    try:
        settings = config.Settings.from_sources(args, environ)
    except config.ConfigError as exc:
        parser.error(str(exc))
    secrets = settings.secrets()
    if settings.sandbox_mode:
        from voicesvc.embedded import new_sandbox_config, serve_embedded

        sandbox_config = new_sandbox_config(settings)
        configure_logging(
            settings.serving.log_level_number,
            secrets=[*secrets, str(sandbox_config.api_key)],
            batched=True,
            cache_loggers=True,
        )
        main_task = serve_embedded(settings, sandbox_config)
    else:
        from voicesvc.server.app import serve

        configure_logging(
            settings.serving.log_level_number, secrets=secrets, batched=True, cache_loggers=True
        )
        main_task = serve(settings)
    try:
        _run(main_task, settings.serving.event_loop)
    except config.ListenError as exc:
        # A setting to change, as for any other unusable setting: the usage exit status.
        structlog.get_logger("voicesvc").error("startup_failed", error=str(exc))
        return 2
    except (OSError, RuntimeError, ValueError, EventLogError) as exc:
        # Start-up failures (port in use, unreadable certificate, bad webhook key, NATS unreachable) end with
        # one clear line instead of a traceback.
        structlog.get_logger("voicesvc").error("startup_failed", error=str(exc))
        return 1
    return 0


def _run(main_task: Coroutine[Any, Any, None], event_loop: str) -> None:
    """Run the service on the loop `event_loop` names: `auto` is uvloop where it is installed (grpc.aio
    supports it; it takes less CPU per call), else asyncio's own loop."""
    if event_loop != "asyncio":
        try:
            import uvloop
        except ImportError:
            if event_loop == "uvloop":  # refused by the settings already; kept for callers of _run
                raise
        else:
            uvloop.run(main_task)
            return
    asyncio.run(main_task)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Entry point of the `voicesvc` console script; answers the exit status."""
    # gRPC's C core logs informational lines (handshakes, GOAWAYs) on stderr by default, outside the JSON log;
    # keep its errors only, unless the operator asked for more. It reads this when grpc is first imported.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args, args.subparser, os.environ if environ is None else environ)
    if args.command == "sandbox":
        from voicesvc.sandbox import cli as sandbox_cli

        asyncio.run(sandbox_cli.run(args, os.environ if environ is None else environ))
        return 0
    from voicesvc.client import cli as client_cli

    return client_cli.dispatch(args, os.environ if environ is None else environ)


if __name__ == "__main__":
    sys.exit(main())
