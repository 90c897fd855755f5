"""Service settings: one frozen `Settings`, filled from command-line flags, then environment, then defaults.

Every setting is described once, in `OPTIONS`; the `serve` command's flags and `--help` text are built
from that table, so a setting cannot exist without a flag, an environment variable and documentation.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_API_BASE_URL = "https://api.telnyx.com/v2"
LOG_LEVELS = ("debug", "info", "warning", "error")
MIN_SECRET_LENGTH = 8
"""Shortest API key or caller token accepted: a shorter token is guessable, and log redaction of a very short
secret would also blank ordinary words."""


class ConfigError(ValueError):
    """A setting has a value the service cannot run with."""


def parse_listen(address: str) -> tuple[str, int]:
    """`host:port` (or `[v6]:port`) → (host, port); port 0 asks the system for a free port."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ConfigError(f"listen address {address!r} must look like host:port")
    port = int(port_text)
    if port > 65535:
        raise ConfigError(f"listen address {address!r} has a port above 65535")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ConfigError(f"listen address {address!r} has an invalid IPv6 host") from None
    elif ":" in host:
        raise ConfigError(f"listen address {address!r}: write an IPv6 host in brackets, e.g. [::1]:50051")
    return host, port


def _check_url(name: str, value: str, schemes: tuple[str, ...], *, credentials: bool = False) -> None:
    """Refuse a URL the service could not use, naming the setting."""
    try:
        url = urlsplit(value)
        url.port  # noqa: B018 - raises for a port that is not a number or out of range
    except ValueError as exc:
        raise ConfigError(f"{name} is not a valid URL ({exc})") from None
    if url.scheme not in schemes or not url.hostname:
        raise ConfigError(f"{name} must be an absolute {' or '.join(schemes)} URL")
    if not credentials and (url.username is not None or url.password is not None):
        raise ConfigError(f"{name} must not carry credentials")


def format_listen(host: str, port: int) -> str:
    """The inverse of `parse_listen`."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class Settings:
    """Everything `voicesvc serve` needs to run. Build it with `Settings.from_sources` or directly."""

    api_key: str | None = field(default=None, repr=False)
    """Telnyx API key; None runs the service against the embedded sandbox."""
    api_base_url: str = DEFAULT_API_BASE_URL
    grpc_listen: str = "127.0.0.1:50051"
    http_listen: str = "127.0.0.1:8080"
    connect_timeout: float = 5.0
    request_timeout: float = 30.0
    max_connections: int = 100
    retry_max_attempts: int = 4
    retry_initial_backoff: float = 0.1
    retry_max_backoff: float = 5.0
    retry_max_retry_after: float = 60.0
    log_level: str = "info"
    auth_tokens: tuple[str, ...] = field(default=(), repr=False)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    grace_period: float = 10.0
    events_backend: str = "memory"
    events_max_events: int = 100_000
    events_max_age: float = 24 * 3600.0
    events_max_bytes: int = -1
    events_dedup_window: float | None = None
    """None: an hour, or the retention when that is shorter."""
    events_outage_grace: float = 10.0
    webhook_public_keys: tuple[str, ...] = ()
    webhook_tolerance: float = 300.0
    webhook_max_body_bytes: int = 1024 * 1024
    sandbox_listen: str = "127.0.0.1:0"
    sandbox_webhook_url: str | None = None

    def __post_init__(self) -> None:
        if self.api_key is not None and not self.api_key.strip():
            object.__setattr__(self, "api_key", None)
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{f.name} must be a finite number")
        _check_url("api_base_url", self.api_base_url, ("http", "https"))
        for name in ("grpc_listen", "http_listen", "sandbox_listen"):
            parse_listen(getattr(self, name))
        for name in ("connect_timeout", "request_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive")
        if self.max_connections < 1 or self.retry_max_attempts < 1:
            raise ConfigError("max_connections and retry_max_attempts must be at least 1")
        if min(self.retry_initial_backoff, self.retry_max_backoff, self.retry_max_retry_after) < 0:
            raise ConfigError("retry backoff durations must not be negative")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"log_level must be one of {', '.join(LOG_LEVELS)}")
        if any(len(t) < MIN_SECRET_LENGTH or any(c.isspace() for c in t) for t in self.auth_tokens):
            raise ConfigError(f"auth tokens need at least {MIN_SECRET_LENGTH} characters and no whitespace")
        if self.api_key is not None and len(self.api_key.strip()) < MIN_SECRET_LENGTH:
            raise ConfigError(f"api_key must have at least {MIN_SECRET_LENGTH} characters")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("tls_cert and tls_key must be given together")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise ConfigError("tls_client_ca (mTLS) needs tls_cert and tls_key")
        if self.grace_period < 0:
            raise ConfigError("grace_period must not be negative")
        if self.events_backend != "memory":
            # NATS takes its user and password (or token) in the URL.
            _check_url(
                "events_backend (memory, or a nats:// URL)",
                self.events_backend,
                ("nats", "tls"),
                credentials=True,
            )
        if self.events_max_events < 1 or self.events_max_age <= 0:
            raise ConfigError("events_max_events and events_max_age must be positive")
        if self.events_max_age < self.webhook_tolerance:
            # Event ids are remembered at most as long as events are kept: a redelivery within the timestamp
            # tolerance would be stored a second time.
            raise ConfigError("events_max_age must be at least webhook_tolerance")
        if self.events_dedup_window is not None and not (
            self.webhook_tolerance <= self.events_dedup_window <= self.events_max_age
        ):
            # A delivery replayed within the timestamp tolerance must still be recognised as a duplicate.
            raise ConfigError("events_dedup_window must be between webhook_tolerance and events_max_age")
        if self.events_outage_grace < 0:
            raise ConfigError("events_outage_grace must not be negative")
        if self.events_max_bytes == 0 or self.events_max_bytes < -1:
            raise ConfigError("events_max_bytes must be positive, or -1 for no limit")
        if self.webhook_tolerance <= 0 or self.webhook_max_body_bytes < 1:
            raise ConfigError("webhook_tolerance and webhook_max_body_bytes must be positive")

    @property
    def dedup_window(self) -> float:
        """How long the NATS log remembers event ids: the setting, else an hour (but at least the webhook
        tolerance, at most the retention)."""
        if self.events_dedup_window is not None:
            return self.events_dedup_window
        return max(self.webhook_tolerance, min(3600.0, self.events_max_age))

    @property
    def sandbox_mode(self) -> bool:
        """True when no API key is configured: the embedded sandbox stands in for Telnyx."""
        return self.api_key is None

    @property
    def tls_enabled(self) -> bool:
        return self.tls_cert is not None

    @property
    def log_level_number(self) -> int:
        """The `logging` level number of `log_level`."""
        return logging.getLevelName(self.log_level.upper())

    @classmethod
    def from_sources(cls, args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
        """Settings from parsed `serve` flags (which win), then `environ`, then the defaults."""
        values: dict[str, Any] = {}
        for opt in OPTIONS:
            raw = getattr(args, opt.dest, None)
            if raw is not None:
                try:
                    values[opt.dest] = opt.from_flag(raw)
                except ValueError as exc:
                    raise ConfigError(f"{opt.flag}: {exc}") from None
                continue
            text = environ.get(opt.env)
            if text is not None and text.strip() != "":
                try:
                    values[opt.dest] = opt.from_env(text)
                except ValueError as exc:
                    raise ConfigError(f"{opt.env}: {exc}") from None
        return cls(**values)


def _csv(text: str) -> tuple[str, ...]:
    parts = tuple(part.strip() for part in text.split(","))
    if not all(parts):
        # `--auth-token "$TOKEN"` with TOKEN unset must not quietly mean "no authentication".
        raise ValueError("holds an empty value")
    return parts


def _level(text: str) -> str:
    level = text.strip().lower()
    if level == "warn":
        level = "warning"
    return level


def _optional_path(text: str) -> Path:
    return Path(text).expanduser()


@dataclass(frozen=True)
class Option:
    """One setting: its flag, environment variable, conversion and help text."""

    dest: str
    flag: str
    env: str
    convert: Callable[[str], Any] = str
    group: str = "general"
    help: str = ""
    repeatable: bool = False
    metavar: str | None = None
    secret: bool = False

    def from_env(self, text: str) -> Any:
        return _csv(text) if self.repeatable else self.convert(text)

    def from_flag(self, raw: Any) -> Any:
        if self.repeatable:
            items: list[str] = []
            for value in raw:
                items.extend(_csv(value))
            return tuple(items)
        if not str(raw).strip():
            # An empty flag is a mistake (an unset shell variable), never a way to unset a setting.
            raise ValueError("must not be empty")
        return self.convert(raw)

    @property
    def default(self) -> Any:
        return _DEFAULTS[self.dest]


_DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(Settings)}

OPTIONS: tuple[Option, ...] = (
    Option(
        "api_key",
        "--api-key",
        "TELNYX_API_KEY",
        secret=True,
        group="telnyx",
        help="Telnyx API key (prefer the environment variable: flags are visible to other local users). "
        "Without one the embedded sandbox stands in for Telnyx.",
    ),
    Option(
        "api_base_url",
        "--api-base-url",
        "TELNYX_API_BASE_URL",
        group="telnyx",
        metavar="URL",
        help="root URL of the Telnyx REST API",
    ),
    Option(
        "connect_timeout",
        "--connect-timeout",
        "VOICESVC_CONNECT_TIMEOUT",
        float,
        "telnyx",
        metavar="SECONDS",
        help="limit for opening a connection to Telnyx",
    ),
    Option(
        "request_timeout",
        "--request-timeout",
        "VOICESVC_REQUEST_TIMEOUT",
        float,
        "telnyx",
        metavar="SECONDS",
        help="limit for one REST attempt when the caller's deadline is later or unset",
    ),
    Option(
        "max_connections",
        "--max-connections",
        "VOICESVC_MAX_CONNECTIONS",
        int,
        "telnyx",
        metavar="N",
        help="size of the pooled keep-alive connections to Telnyx",
    ),
    Option(
        "retry_max_attempts",
        "--retry-max-attempts",
        "VOICESVC_RETRY_MAX_ATTEMPTS",
        int,
        "telnyx",
        metavar="N",
        help="attempts per REST call, the first included (1 disables retries)",
    ),
    Option(
        "retry_initial_backoff",
        "--retry-initial-backoff",
        "VOICESVC_RETRY_INITIAL_BACKOFF",
        float,
        "telnyx",
        metavar="SECONDS",
        help="ceiling of the first retry's random backoff; doubles with each retry",
    ),
    Option(
        "retry_max_backoff",
        "--retry-max-backoff",
        "VOICESVC_RETRY_MAX_BACKOFF",
        float,
        "telnyx",
        metavar="SECONDS",
        help="largest backoff ceiling",
    ),
    Option(
        "retry_max_retry_after",
        "--retry-max-retry-after",
        "VOICESVC_RETRY_MAX_RETRY_AFTER",
        float,
        "telnyx",
        metavar="SECONDS",
        help="a longer Retry-After is not waited for: the caller gets RESOURCE_EXHAUSTED with RetryInfo",
    ),
    Option(
        "grpc_listen",
        "--grpc-listen",
        "VOICESVC_GRPC_LISTEN",
        group="serving",
        metavar="HOST:PORT",
        help="gRPC address (port 0 picks a free port)",
    ),
    Option(
        "http_listen",
        "--http-listen",
        "VOICESVC_HTTP_LISTEN",
        group="serving",
        metavar="HOST:PORT",
        help="HTTP address for webhooks, /healthz, /readyz and /metrics",
    ),
    Option(
        "grace_period",
        "--grace-period",
        "VOICESVC_GRACE_PERIOD",
        float,
        "serving",
        metavar="SECONDS",
        help="on SIGTERM/SIGINT, how long in-flight RPCs may take to finish",
    ),
    Option(
        "log_level",
        "--log-level",
        "VOICESVC_LOG_LEVEL",
        _level,
        "serving",
        metavar="LEVEL",
        help=f"one of {', '.join(LOG_LEVELS)}",
    ),
    Option(
        "auth_tokens",
        "--auth-token",
        "VOICESVC_AUTH_TOKENS",
        group="security",
        repeatable=True,
        metavar="TOKEN",
        secret=True,
        help="bearer token callers must send as 'authorization: Bearer <token>' metadata; repeat the "
        "flag (or comma-separate the variable) to accept several. None: no caller authentication.",
    ),
    Option(
        "tls_cert",
        "--tls-cert",
        "VOICESVC_TLS_CERT",
        _optional_path,
        "security",
        metavar="PEM",
        help="server certificate chain; enables TLS on the gRPC port",
    ),
    Option(
        "tls_key",
        "--tls-key",
        "VOICESVC_TLS_KEY",
        _optional_path,
        "security",
        metavar="PEM",
        help="private key of --tls-cert",
    ),
    Option(
        "tls_client_ca",
        "--tls-client-ca",
        "VOICESVC_TLS_CLIENT_CA",
        _optional_path,
        "security",
        metavar="PEM",
        help="CA bundle for client certificates; enables mutual TLS (clients must present one)",
    ),
    Option(
        "events_backend",
        "--events-backend",
        "VOICESVC_EVENTS_BACKEND",
        group="events",
        metavar="memory|nats://HOST:PORT",
        help="event log: the in-process ring buffer, or NATS JetStream shared by several replicas",
    ),
    Option(
        "events_max_events",
        "--events-max-events",
        "VOICESVC_EVENTS_MAX_EVENTS",
        int,
        "events",
        metavar="N",
        help="events the log retains at most",
    ),
    Option(
        "events_max_age",
        "--events-max-age",
        "VOICESVC_EVENTS_MAX_AGE",
        float,
        "events",
        metavar="SECONDS",
        help="how long the log retains an event",
    ),
    Option(
        "events_dedup_window",
        "--events-dedup-window",
        "VOICESVC_EVENTS_DEDUP_WINDOW",
        float,
        "events",
        metavar="SECONDS",
        help="NATS backend: how long a delivered event id is remembered, so a repeat is stored once; "
        "unset: an hour, at least --webhook-tolerance, at most --events-max-age (the memory log "
        "remembers ids for its whole retention)",
    ),
    Option(
        "events_outage_grace",
        "--events-outage-grace",
        "VOICESVC_EVENTS_OUTAGE_GRACE",
        float,
        "events",
        metavar="SECONDS",
        help="NATS backend: how long open WatchEvents streams wait for a lost NATS connection to come "
        "back before ending with UNAVAILABLE (meanwhile webhooks get 503, new streams UNAVAILABLE)",
    ),
    Option(
        "events_max_bytes",
        "--events-max-bytes",
        "VOICESVC_EVENTS_MAX_BYTES",
        int,
        "events",
        metavar="BYTES",
        help="NATS backend: size of the JetStream stream at most (-1: no limit)",
    ),
    Option(
        "webhook_public_keys",
        "--webhook-public-key",
        "TELNYX_PUBLIC_KEY",
        group="events",
        repeatable=True,
        metavar="BASE64",
        help="Ed25519 public key that verifies Telnyx webhooks; repeat (or comma-separate) during key "
        "rotation. The embedded sandbox's key is trusted automatically.",
    ),
    Option(
        "webhook_tolerance",
        "--webhook-tolerance",
        "VOICESVC_WEBHOOK_TOLERANCE",
        float,
        "events",
        metavar="SECONDS",
        help="largest accepted difference between a webhook's timestamp and now",
    ),
    Option(
        "webhook_max_body_bytes",
        "--webhook-max-body-bytes",
        "VOICESVC_WEBHOOK_MAX_BODY_BYTES",
        int,
        "events",
        metavar="BYTES",
        help="larger webhook bodies are rejected",
    ),
    Option(
        "sandbox_listen",
        "--sandbox-listen",
        "VOICESVC_SANDBOX_LISTEN",
        group="sandbox",
        metavar="HOST:PORT",
        help="where the embedded sandbox listens when there is no API key",
    ),
    Option(
        "sandbox_webhook_url",
        "--sandbox-webhook-url",
        "VOICESVC_SANDBOX_WEBHOOK_URL",
        group="sandbox",
        metavar="URL",
        help="where the embedded sandbox sends webhooks (default: this server's /webhooks/telnyx route)",
    ),
)

_GROUP_TITLES = {
    "telnyx": "Telnyx REST API",
    "serving": "serving",
    "security": "caller authentication and TLS",
    "events": "webhooks and the event stream",
    "sandbox": "embedded sandbox (used when TELNYX_API_KEY is unset)",
}


def add_arguments(parser: argparse.ArgumentParser, options: Sequence[Option] = OPTIONS) -> None:
    """Add one flag per setting to `parser`; every flag defaults to None so the environment can fill it."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for opt in options:
        group = groups.get(opt.group)
        if group is None:
            group = groups[opt.group] = parser.add_argument_group(_GROUP_TITLES.get(opt.group, opt.group))
        default = opt.default
        if opt.secret or default in (None, ()):
            shown = "none"
        else:
            shown = str(default)
        help_text = f"{opt.help} [env {opt.env}; default: {shown}]".replace("%", "%%")
        group.add_argument(
            opt.flag,
            dest=opt.dest,
            default=None,
            metavar=opt.metavar,
            action="append" if opt.repeatable else "store",
            help=help_text,
        )
