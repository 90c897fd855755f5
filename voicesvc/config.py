"""Settings of `voicesvc serve`: frozen groups, each validating itself once, from flags and environment.

`Settings` holds one group per concern — the Telnyx upstream with its retry policy, serving, caller
authentication, TLS, the event log, webhooks, and the embedded sandbox. Every setting is described once,
in `OPTIONS` (flag, environment variable, help); `Settings.from_sources` reads flags, then environment,
then the groups' defaults, and `Settings.from_values` takes the same `group.field` keys from code.

`Upstream` is what the service is pointed at: a base URL, an API key and the webhook keys it trusts —
Telnyx from these settings, or an emulator that a caller (the `embedded` module, a test) started itself.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import ipaddress
import logging
import math
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from voicesvc.backoff import Backoff
from voicesvc.events.relayable import MAX_DELIVERED_BYTES
from voicesvc.options import Option, OptionError, add_options, resolve
from voicesvc.rest.limits import ConnectionLimits
from voicesvc.rest.retry import RetryPolicy

__all__ = [
    "DEFAULT_API_BASE_URL",
    "OPTIONS",
    "AuthSettings",
    "CallsSettings",
    "ConfigError",
    "EventsSettings",
    "ListenError",
    "SandboxSettings",
    "ServingSettings",
    "Settings",
    "TelnyxSettings",
    "TlsSettings",
    "Upstream",
    "WebhookSettings",
    "add_arguments",
    "check_bindable",
    "format_listen",
    "parse_listen",
]

DEFAULT_API_BASE_URL = "https://api.telnyx.com/v2"
LOG_LEVELS = ("debug", "info", "warning", "error")
EVENT_LOOPS = ("auto", "uvloop", "asyncio")
"""`auto`: uvloop where it is installed, else asyncio's own loop."""
MIN_SECRET_LENGTH = 8
"""Shortest API key or caller token accepted: a shorter token is guessable, and log redaction of a very short
secret would also blank ordinary words."""
_DEFAULT_DEDUP_WINDOW_S = 3600.0


class ConfigError(ValueError):
    """A setting has a value the service cannot run with; the message names the setting."""


class ListenError(ConfigError):
    """An address the service is told to listen on cannot be bound (in use, not on this host, privileged)."""

    def __init__(self, address: str, setting: str, flag: str, reason: str) -> None:
        super().__init__(f"cannot listen on {address}: {reason}; change {setting} (or {flag})")
        self.address = address
        self.setting = setting


def check_bindable(address: str, setting: str, flag: str) -> None:
    """Raise `ListenError` naming the setting if `address` (with a fixed port) cannot be bound right now.

    gRPC reports a failed bind only as a core log line and a bare RuntimeError; trying first names the
    setting instead. Port 0 always binds.
    """
    host, port = parse_listen(address)
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("::" if host == "::" else host, port))
        except OSError as exc:
            raise ListenError(address, setting, flag, exc.strerror or str(exc)) from None


# ---------------------------------------------------------------------------------------------- checks


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


def format_listen(host: str, port: int) -> str:
    """The inverse of `parse_listen`."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


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


def _check_finite(group: object) -> None:
    for f in dataclasses.fields(group):  # type: ignore[arg-type]
        if not f.init:
            continue
        value = getattr(group, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{f.name} must be a finite number")


def _check_secret(name: str, value: str) -> None:
    if len(value) < MIN_SECRET_LENGTH or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ConfigError(f"{name} needs at least {MIN_SECRET_LENGTH} characters and no whitespace")


def _positive(name: str, value: float) -> None:
    if value <= 0:
        raise ConfigError(f"{name} must be positive")


def _not_negative(name: str, value: float) -> None:
    if value < 0:
        raise ConfigError(f"{name} must not be negative")


# ---------------------------------------------------------------------------------------------- groups


@dataclass(frozen=True)
class TelnyxSettings:
    """The Telnyx REST API: where it is, the key, connection limits and the retry policy."""

    api_key: str | None = field(default=None, repr=False)
    """None runs the service against the embedded sandbox."""
    base_url: str = DEFAULT_API_BASE_URL
    connect_timeout_s: float = 5.0
    request_timeout_s: float = 30.0
    """Limit of one attempt when the caller's deadline is later or unset."""
    max_connections: int = 100
    retry_max_attempts: int = 4
    """Attempts per REST call, the first included."""
    retry_initial_backoff_s: float = 0.1
    retry_max_backoff_s: float = 5.0
    retry_max_retry_after_s: float = 60.0
    """A longer Retry-After is not waited for: the caller gets it as RetryInfo."""

    retry: RetryPolicy = field(init=False, repr=False, compare=False)
    """The retry fields as the policy the client applies (which validates them)."""
    limits: ConnectionLimits = field(init=False, repr=False, compare=False)
    """The timeouts and pool size as the client takes them (which validates them)."""

    def __post_init__(self) -> None:
        _check_finite(self)
        if self.api_key is not None:
            _check_secret("api_key", self.api_key)
        _check_url("api_base_url", self.base_url, ("http", "https"))
        try:
            retry = RetryPolicy(
                max_attempts=self.retry_max_attempts,
                backoff=Backoff(initial_s=self.retry_initial_backoff_s, max_s=self.retry_max_backoff_s),
                max_retry_after_s=self.retry_max_retry_after_s,
            )
            limits = ConnectionLimits(self.connect_timeout_s, self.request_timeout_s, self.max_connections)
        except ValueError as exc:
            raise ConfigError(f"telnyx settings: {exc}") from None
        object.__setattr__(self, "retry", retry)
        object.__setattr__(self, "limits", limits)


@dataclass(frozen=True)
class ServingSettings:
    """Where the service listens, how it shuts down and what it logs."""

    grpc_listen: str = "127.0.0.1:50051"
    http_listen: str = "127.0.0.1:8080"
    grace_period_s: float = 10.0
    """On SIGTERM/SIGINT, how long in-flight RPCs may take to finish."""
    log_level: str = "info"
    http_header_timeout_s: float = 10.0
    """How long an HTTP connection may wait for a request's headers (or sit idle between requests)."""
    http_body_timeout_s: float = 30.0
    """How long a request body may take to arrive after its headers."""
    http_max_connections: int = 1024
    """Open HTTP connections at most; beyond, the longest idle one is closed to make room."""
    event_loop: str = "auto"
    """The asyncio event loop implementation: `auto` (uvloop where installed), `uvloop` or `asyncio`."""
    advertise_address: str = ""
    """`host:port` at which the other replicas reach this one's gRPC port (worker-group relay); empty: the
    gRPC listen address, with this machine's host name when it listens on every interface."""

    def __post_init__(self) -> None:
        _check_finite(self)
        parse_listen(self.grpc_listen)
        parse_listen(self.http_listen)
        if self.advertise_address:
            try:
                _, port = parse_listen(self.advertise_address)
            except ConfigError as exc:
                raise ConfigError(f"advertise_address: {exc}") from None
            if port == 0:
                raise ConfigError("advertise_address needs the real port other replicas dial, not 0")
        _not_negative("grace_period", self.grace_period_s)
        _positive("http_header_timeout", self.http_header_timeout_s)
        _positive("http_body_timeout", self.http_body_timeout_s)
        _positive("http_max_connections", self.http_max_connections)
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"log_level must be one of {', '.join(LOG_LEVELS)}")
        if self.event_loop not in EVENT_LOOPS:
            raise ConfigError(f"event_loop must be one of {', '.join(EVENT_LOOPS)}")
        if self.event_loop == "uvloop" and importlib.util.find_spec("uvloop") is None:
            raise ConfigError("event_loop uvloop needs the uvloop package (pip install uvloop)")

    @property
    def log_level_number(self) -> int:
        """The `logging` level number of `log_level`."""
        return int(logging.getLevelName(self.log_level.upper()))


@dataclass(frozen=True)
class AuthSettings:
    """Bearer tokens callers must present; none turns caller authentication off."""

    tokens: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        for token in self.tokens:
            _check_secret("auth tokens", token)

    @property
    def enabled(self) -> bool:
        """True when callers must authenticate."""
        return bool(self.tokens)


@dataclass(frozen=True)
class TlsSettings:
    """TLS on the gRPC port, and mutual TLS with a client CA."""

    cert: Path | None = None
    key: Path | None = None
    client_ca: Path | None = None
    peer_ca: Path | None = None
    """CA bundle that signed the other replicas' certificates, for the worker-group relay between replicas;
    empty: `client_ca`, else the system's roots. The replica presents its own certificate to them."""

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise ConfigError("tls_cert and tls_key must be given together")
        if self.client_ca is not None and self.cert is None:
            raise ConfigError("tls_client_ca (mTLS) needs tls_cert and tls_key")
        if self.peer_ca is not None and self.cert is None:
            raise ConfigError("tls_peer_ca (TLS between replicas) needs tls_cert and tls_key")

    @property
    def enabled(self) -> bool:
        """True when the gRPC port speaks TLS."""
        return self.cert is not None


@dataclass(frozen=True)
class EventsSettings:
    """The event log: its backend and retention."""

    backend: str = "memory"
    """`memory`, or a `nats://` URL (user and password or token may sit in it)."""
    max_events: int = 100_000
    max_age_s: float = 24 * 3600.0
    max_bytes: int = -1
    """NATS only; -1 for no limit."""
    dedup_window_s: float | None = None
    """How long event ids are remembered; None: an hour, within the bounds `Settings` checks."""
    outage_grace_s: float = 10.0
    """NATS: how long open streams wait for a lost connection before ending with UNAVAILABLE."""

    def __post_init__(self) -> None:
        _check_finite(self)
        if self.backend != "memory":
            _check_url(
                "events_backend (memory, or a nats:// URL)", self.backend, ("nats", "tls"), credentials=True
            )
        if self.max_events < 1 or self.max_age_s <= 0:
            raise ConfigError("events_max_events and events_max_age must be positive")
        _not_negative("events_outage_grace", self.outage_grace_s)
        if self.max_bytes == 0 or self.max_bytes < -1:
            raise ConfigError("events_max_bytes must be positive, or -1 for no limit")

    @property
    def uses_nats(self) -> bool:
        """True for the NATS JetStream backend."""
        return self.backend != "memory"

    def secrets(self) -> list[str]:
        """Credentials inside the backend URL (to keep them out of logs)."""
        if not self.uses_nats:
            return []
        url = urlsplit(self.backend)
        if url.password is not None:
            return [url.password]
        # A token alone sits where a user name would.
        return [url.username] if url.username else []


@dataclass(frozen=True)
class CallsSettings:
    """The projection of calls (service `Calls`)."""

    ended_retention_s: float = 3600.0
    """How long an ended call stays readable."""
    max_calls: int = 100_000
    """Calls held at most (ended ones are forgotten first)."""

    def __post_init__(self) -> None:
        _check_finite(self)
        _not_negative("calls_ended_retention", self.ended_retention_s)
        if self.max_calls < 1:
            raise ConfigError("calls_max_calls must be at least 1")


@dataclass(frozen=True)
class WebhookSettings:
    """Verification of Telnyx webhooks."""

    public_keys: tuple[str, ...] = ()
    """Base64 Ed25519 keys; several during a rotation."""
    tolerance_s: float = 300.0
    """Largest accepted difference between a webhook's timestamp and now."""
    max_body_bytes: int = 1024 * 1024
    max_event_bytes: int = 3 * 1024 * 1024
    """Largest stream message an accepted event may become (at most `MAX_DELIVERED_BYTES`, 3.5 MiB)."""

    def __post_init__(self) -> None:
        _check_finite(self)
        if self.tolerance_s <= 0 or self.max_body_bytes < 1:
            raise ConfigError("webhook_tolerance and webhook_max_body_bytes must be positive")
        if not 1 <= self.max_event_bytes <= MAX_DELIVERED_BYTES:
            # Above that, a default gRPC client (4 MiB receive limit) could not receive the event.
            raise ConfigError(f"webhook_max_event_bytes must be between 1 and {MAX_DELIVERED_BYTES}")


@dataclass(frozen=True)
class SandboxSettings:
    """The embedded sandbox that stands in for Telnyx when no API key is set."""

    listen: str = "127.0.0.1:0"
    webhook_url: str | None = None
    """Where it sends webhooks; None: this service's own webhook route."""

    def __post_init__(self) -> None:
        parse_listen(self.listen)
        if self.webhook_url is not None:
            _check_url("sandbox_webhook_url", self.webhook_url, ("http", "https"))


_GROUPS: dict[str, type] = {
    "telnyx": TelnyxSettings,
    "serving": ServingSettings,
    "auth": AuthSettings,
    "tls": TlsSettings,
    "events": EventsSettings,
    "calls": CallsSettings,
    "webhooks": WebhookSettings,
    "sandbox": SandboxSettings,
}


@dataclass(frozen=True)
class Settings:
    """Everything `voicesvc serve` needs, one validated group per concern."""

    telnyx: TelnyxSettings = TelnyxSettings()
    serving: ServingSettings = ServingSettings()
    auth: AuthSettings = AuthSettings()
    tls: TlsSettings = TlsSettings()
    events: EventsSettings = EventsSettings()
    calls: CallsSettings = CallsSettings()
    webhooks: WebhookSettings = WebhookSettings()
    sandbox: SandboxSettings = SandboxSettings()

    def __post_init__(self) -> None:
        # The rules that tie two groups together; each group checked itself.
        if self.events.max_age_s < self.webhooks.tolerance_s:
            # Event ids are remembered at most as long as events are kept: a redelivery within the timestamp
            # tolerance would be stored a second time.
            raise ConfigError("events_max_age must be at least webhook_tolerance")
        window = self.events.dedup_window_s
        if window is not None and not (self.webhooks.tolerance_s <= window <= self.events.max_age_s):
            # A delivery replayed within the timestamp tolerance must still be recognised as a duplicate.
            raise ConfigError("events_dedup_window must be between webhook_tolerance and events_max_age")

    @property
    def dedup_window_s(self) -> float:
        """How long the event log remembers event ids: the setting, else an hour (but at least the webhook
        tolerance, at most the retention)."""
        if self.events.dedup_window_s is not None:
            return self.events.dedup_window_s
        return max(self.webhooks.tolerance_s, min(_DEFAULT_DEDUP_WINDOW_S, self.events.max_age_s))

    @property
    def sandbox_mode(self) -> bool:
        """True when no API key is configured: the embedded sandbox stands in for Telnyx."""
        return self.telnyx.api_key is None

    def secrets(self) -> list[str]:
        """Every configured secret, for log redaction."""
        found = [self.telnyx.api_key, *self.auth.tokens, *self.events.secrets()]
        return [s for s in found if s]

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Settings:
        """Settings from `group.field` keys (as `OPTIONS` names them), the rest defaults.

        Raises `ConfigError` for an unknown key or a value a group refuses.
        """
        grouped: dict[str, dict[str, Any]] = {name: {} for name in _GROUPS}
        for key, value in values.items():
            group, _, name = key.partition(".")
            fields = _FIELDS.get(group)
            if fields is None or name not in fields:
                raise ConfigError(f"unknown setting {key!r}")
            grouped[group][name] = value
        made = {group: _GROUPS[group](**kwargs) for group, kwargs in grouped.items()}
        return cls(**made)

    @classmethod
    def from_sources(cls, args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
        """Settings from parsed `serve` flags (which win), then `environ`, then the defaults."""
        try:
            values = resolve(OPTIONS, args, environ)
        except OptionError as exc:
            raise ConfigError(str(exc)) from None
        return cls.from_values(values)


def _fields(group: str) -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(_GROUPS[group])


_FIELDS: dict[str, frozenset[str]] = {g: frozenset(f.name for f in _fields(g) if f.init) for g in _GROUPS}
_DEFAULTS: dict[str, Any] = {f"{g}.{f.name}": f.default for g in _GROUPS for f in _fields(g) if f.init}


@dataclass(frozen=True)
class Upstream:
    """What the service talks to: the API root, its key, and the keys its webhooks are signed with.

    `from_settings` makes Telnyx's from the configuration; an emulator started by the caller (the
    `embedded` module, a test) is handed over as one too.
    """

    base_url: str
    api_key: str = field(repr=False)
    webhook_public_keys: tuple[str, ...] = ()
    name: str = "telnyx"
    """Shown in logs: `telnyx`, or `sandbox` for the embedded emulator."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Upstream:
        """Telnyx as configured; raises `ConfigError` without an API key."""
        if settings.telnyx.api_key is None:
            raise ConfigError("TELNYX_API_KEY is not set (without one, voicesvc.embedded runs the sandbox)")
        return cls(settings.telnyx.base_url, settings.telnyx.api_key, settings.webhooks.public_keys)


# ---------------------------------------------------------------------------------------------- options


def _level(text: str) -> str:
    level = text.strip().lower()
    return "warning" if level == "warn" else level


def _lower(text: str) -> str:
    return text.strip().lower()


def _path(text: str) -> Path:
    return Path(text).expanduser()


OPTIONS: tuple[Option, ...] = (
    Option(
        "telnyx.api_key",
        "--api-key",
        "TELNYX_API_KEY",
        secret=True,
        group="telnyx",
        help="Telnyx API key (prefer the environment variable: flags are visible to other local users). "
        "Without one the embedded sandbox stands in for Telnyx.",
    ),
    Option(
        "telnyx.base_url",
        "--api-base-url",
        "TELNYX_API_BASE_URL",
        group="telnyx",
        metavar="URL",
        help="root URL of the Telnyx REST API",
    ),
    Option(
        "telnyx.connect_timeout_s",
        "--connect-timeout",
        "VOICESVC_CONNECT_TIMEOUT",
        float,
        "telnyx",
        metavar="SECONDS",
        help="limit for opening a connection to Telnyx",
    ),
    Option(
        "telnyx.request_timeout_s",
        "--request-timeout",
        "VOICESVC_REQUEST_TIMEOUT",
        float,
        "telnyx",
        metavar="SECONDS",
        help="limit for one REST attempt when the caller's deadline is later or unset",
    ),
    Option(
        "telnyx.max_connections",
        "--max-connections",
        "VOICESVC_MAX_CONNECTIONS",
        int,
        "telnyx",
        metavar="N",
        help="size of the pooled keep-alive connections to Telnyx",
    ),
    Option(
        "telnyx.retry_max_attempts",
        "--retry-max-attempts",
        "VOICESVC_RETRY_MAX_ATTEMPTS",
        int,
        "telnyx",
        metavar="N",
        help="attempts per REST call, the first included (1 disables retries)",
    ),
    Option(
        "telnyx.retry_initial_backoff_s",
        "--retry-initial-backoff",
        "VOICESVC_RETRY_INITIAL_BACKOFF",
        float,
        "telnyx",
        metavar="SECONDS",
        help="ceiling of the first retry's random backoff; doubles with each retry",
    ),
    Option(
        "telnyx.retry_max_backoff_s",
        "--retry-max-backoff",
        "VOICESVC_RETRY_MAX_BACKOFF",
        float,
        "telnyx",
        metavar="SECONDS",
        help="largest backoff ceiling",
    ),
    Option(
        "telnyx.retry_max_retry_after_s",
        "--retry-max-retry-after",
        "VOICESVC_RETRY_MAX_RETRY_AFTER",
        float,
        "telnyx",
        metavar="SECONDS",
        help="a longer Retry-After is not waited for: the caller gets RESOURCE_EXHAUSTED with RetryInfo",
    ),
    Option(
        "serving.grpc_listen",
        "--grpc-listen",
        "VOICESVC_GRPC_LISTEN",
        group="serving",
        metavar="HOST:PORT",
        help="gRPC address (port 0 picks a free port)",
    ),
    Option(
        "serving.http_listen",
        "--http-listen",
        "VOICESVC_HTTP_LISTEN",
        group="serving",
        metavar="HOST:PORT",
        help="HTTP address for webhooks, /healthz, /readyz and /metrics",
    ),
    Option(
        "serving.http_header_timeout_s",
        "--http-header-timeout",
        "VOICESVC_HTTP_HEADER_TIMEOUT",
        float,
        "serving",
        metavar="SECONDS",
        help="HTTP port: a connection that has not sent a request's headers within this time (or sits idle "
        "that long between requests) is closed",
    ),
    Option(
        "serving.http_body_timeout_s",
        "--http-body-timeout",
        "VOICESVC_HTTP_BODY_TIMEOUT",
        float,
        "serving",
        metavar="SECONDS",
        help="HTTP port: a request body not received within this time after its headers is answered "
        "408 body_timeout",
    ),
    Option(
        "serving.http_max_connections",
        "--http-max-connections",
        "VOICESVC_HTTP_MAX_CONNECTIONS",
        int,
        "serving",
        metavar="N",
        help="HTTP port: open connections at most; a new one beyond closes the longest idle one (refused "
        "with 503 when every connection is in a request)",
    ),
    Option(
        "serving.advertise_address",
        "--advertise-address",
        "VOICESVC_ADVERTISE_ADDRESS",
        str,
        "serving",
        metavar="HOST:PORT",
        help=(
            "where the other replicas reach this one's gRPC port, to relay worker-group members to the "
            "replica leading their subscription (default: the gRPC listen address; this host's name when "
            "listening on every interface)"
        ),
    ),
    Option(
        "serving.grace_period_s",
        "--grace-period",
        "VOICESVC_GRACE_PERIOD",
        float,
        "serving",
        metavar="SECONDS",
        help="on SIGTERM/SIGINT, how long in-flight RPCs may take to finish",
    ),
    Option(
        "serving.event_loop",
        "--event-loop",
        "VOICESVC_EVENT_LOOP",
        _lower,
        "serving",
        metavar="LOOP",
        help="auto (uvloop where installed), uvloop or asyncio",
    ),
    Option(
        "serving.log_level",
        "--log-level",
        "VOICESVC_LOG_LEVEL",
        _level,
        "serving",
        metavar="LEVEL",
        help=f"one of {', '.join(LOG_LEVELS)}",
    ),
    Option(
        "auth.tokens",
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
        "tls.cert",
        "--tls-cert",
        "VOICESVC_TLS_CERT",
        _path,
        "security",
        metavar="PEM",
        help="server certificate chain; enables TLS on the gRPC port",
    ),
    Option(
        "tls.key",
        "--tls-key",
        "VOICESVC_TLS_KEY",
        _path,
        "security",
        metavar="PEM",
        help="private key of --tls-cert",
    ),
    Option(
        "tls.client_ca",
        "--tls-client-ca",
        "VOICESVC_TLS_CLIENT_CA",
        _path,
        "security",
        metavar="PEM",
        help="CA bundle for client certificates; enables mutual TLS (clients must present one)",
    ),
    Option(
        "tls.peer_ca",
        "--tls-peer-ca",
        "VOICESVC_TLS_PEER_CA",
        _path,
        "security",
        metavar="PEM",
        help=(
            "CA bundle of the other replicas' certificates, for the worker-group relay between replicas "
            "(default: the client CA, else the system's roots); this replica presents its own certificate"
        ),
    ),
    Option(
        "events.backend",
        "--events-backend",
        "VOICESVC_EVENTS_BACKEND",
        group="events",
        metavar="memory|nats://HOST:PORT",
        help="event log: the in-process ring buffer, or NATS JetStream shared by several replicas",
    ),
    Option(
        "events.max_events",
        "--events-max-events",
        "VOICESVC_EVENTS_MAX_EVENTS",
        int,
        "events",
        metavar="N",
        help="events the log retains at most",
    ),
    Option(
        "events.max_age_s",
        "--events-max-age",
        "VOICESVC_EVENTS_MAX_AGE",
        float,
        "events",
        metavar="SECONDS",
        help="how long the log retains an event",
    ),
    Option(
        "events.dedup_window_s",
        "--events-dedup-window",
        "VOICESVC_EVENTS_DEDUP_WINDOW",
        float,
        "events",
        metavar="SECONDS",
        help="how long a delivered event id is remembered, so a repeat is stored once (also after the "
        "memory log evicted the event); unset: an hour, at least --webhook-tolerance, at most "
        "--events-max-age",
    ),
    Option(
        "events.outage_grace_s",
        "--events-outage-grace",
        "VOICESVC_EVENTS_OUTAGE_GRACE",
        float,
        "events",
        metavar="SECONDS",
        help="NATS backend: how long open WatchEvents streams wait for a lost NATS connection to come "
        "back before ending with UNAVAILABLE (meanwhile webhooks get 503, new streams UNAVAILABLE)",
    ),
    Option(
        "events.max_bytes",
        "--events-max-bytes",
        "VOICESVC_EVENTS_MAX_BYTES",
        int,
        "events",
        metavar="BYTES",
        help="NATS backend: size of the JetStream stream at most (-1: no limit)",
    ),
    Option(
        "calls.ended_retention_s",
        "--calls-ended-retention",
        "VOICESVC_CALLS_ENDED_RETENTION",
        float,
        "events",
        metavar="SECONDS",
        help="how long GetCall/ListCalls keep an ended call (counted from its call.hangup)",
    ),
    Option(
        "calls.max_calls",
        "--calls-max-calls",
        "VOICESVC_CALLS_MAX_CALLS",
        int,
        "events",
        metavar="N",
        help="calls the Calls service holds at most; past it ended calls are forgotten first, then the "
        "oldest live ones",
    ),
    Option(
        "webhooks.public_keys",
        "--webhook-public-key",
        "TELNYX_PUBLIC_KEY",
        group="events",
        repeatable=True,
        metavar="BASE64",
        help="Ed25519 public key that verifies Telnyx webhooks; repeat (or comma-separate) during key "
        "rotation. The embedded sandbox's key is trusted automatically.",
    ),
    Option(
        "webhooks.tolerance_s",
        "--webhook-tolerance",
        "VOICESVC_WEBHOOK_TOLERANCE",
        float,
        "events",
        metavar="SECONDS",
        help="largest accepted difference between a webhook's timestamp and now",
    ),
    Option(
        "webhooks.max_body_bytes",
        "--webhook-max-body-bytes",
        "VOICESVC_WEBHOOK_MAX_BODY_BYTES",
        int,
        "events",
        metavar="BYTES",
        help="larger webhook bodies are rejected",
    ),
    Option(
        "webhooks.max_event_bytes",
        "--webhook-max-event-bytes",
        "VOICESVC_WEBHOOK_MAX_EVENT_BYTES",
        int,
        "events",
        metavar="BYTES",
        help="webhooks whose event would reach WatchEvents subscribers as a larger message are rejected "
        f"(413 event_too_large); at most {MAX_DELIVERED_BYTES}, so default gRPC clients (4 MiB) receive "
        "every event",
    ),
    Option(
        "sandbox.listen",
        "--sandbox-listen",
        "VOICESVC_SANDBOX_LISTEN",
        group="sandbox",
        metavar="HOST:PORT",
        help="where the embedded sandbox listens when there is no API key",
    ),
    Option(
        "sandbox.webhook_url",
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `serve` flags to `parser`, one per setting, documenting its variable and default."""
    add_options(parser, OPTIONS, _DEFAULTS, _GROUP_TITLES)
