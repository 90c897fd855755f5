"""Pooled keep-alive client for the Telnyx REST API with retries, deadlines and typed errors."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, urlencode

import structlog
from multidict import CIMultiDict, CIMultiDictProxy

from voicesvc import jsontext
from voicesvc.redact import REDACTED, SECRETS
from voicesvc.rest.envelope import parse_error_body
from voicesvc.rest.exceptions import (
    RestError,
    TelnyxAPIError,
    UpstreamDeadlineExceeded,
    UpstreamProtocolError,
    UpstreamUnavailable,
)
from voicesvc.rest.http1 import (
    ACCEPT_ENCODING,
    ConnectFailed,
    ConnectionPool,
    ConnectTimeout,
    Origin,
    Response,
    TransportError,
    is_request_target,
)
from voicesvc.rest.limits import ConnectionLimits
from voicesvc.rest.request import RestRequest
from voicesvc.rest.retry import RetryMode, RetryPolicy, parse_retry_after

ResponseHook = Callable[[str, int, float], None]
"""Called once per completed attempt with (HTTP method, status or 0 when no response came, seconds taken).

An attempt abandoned because the caller cancelled is not reported."""

_log = structlog.get_logger("voicesvc.rest")
# Statuses whose Retry-After sets a lower bound on the next wait.
_RETRY_AFTER_STATUSES = frozenset({429, 503})
# Methods whose request carries content: one without a body says so with a zero length.
_CONTENT_METHODS = frozenset({"POST", "PUT", "PATCH"})


_DEFAULT_LIMITS = ConnectionLimits()


@dataclass(frozen=True, slots=True)
class RestResponse:
    """A successful (2xx) Telnyx response."""

    status: int
    json: Any
    """Parsed JSON body, or None when the body was empty."""
    headers: Mapping[str, str]
    attempts: int
    """How many attempts it took (1 when the first one succeeded)."""


@dataclass(slots=True)
class _Attempt:
    """One HTTP exchange of a logical request."""

    number: int
    """1 for the first attempt."""
    limit_s: float
    """The time this attempt may take: the request timeout, or less when the deadline is nearer."""
    limited_by_deadline: bool
    started: float = field(default_factory=time.monotonic)
    # Set once the attempt holds a connection: from then on request bytes may be on the wire.
    connected: bool = False


@dataclass(slots=True)
class _Failure:
    """Why one attempt failed, and whether another attempt is allowed."""

    error: RestError
    retryable: bool
    status: int = 0
    retry_after_s: float | None = None


class TelnyxClient:
    """Telnyx REST client over one pool of keep-alive HTTP/1.1 connections (`voicesvc.rest.http1`).

    The pool is created by :meth:`start` (or lazily by the first request) and closed by :meth:`close`;
    the client also works as an async context manager. A closed client cannot be reused.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        retry: RetryPolicy,
        limits: ConnectionLimits = _DEFAULT_LIMITS,
        user_agent: str = "voicesvc/0.1",
        on_response: ResponseHook | None = None,
    ) -> None:
        if not api_key or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in api_key):
            raise ValueError("api_key must be non-empty and contain no whitespace or control characters")
        self._base_url = base_url.rstrip("/")
        self._origin = Origin.from_url(self._base_url)
        self._api_key = api_key
        # Whatever Telnyx (or anything on the way) echoes of the key, in any encoding, is scrubbed: from the
        # errors this client raises here, and from every status and log line by the same scrubber.
        SECRETS.add(api_key)
        self._retry = retry
        self._connect_timeout_s = limits.connect_timeout_s
        self._request_timeout_s = limits.request_timeout_s
        self._max_connections = limits.max_connections
        if not user_agent.isprintable() or not user_agent.isascii():
            raise ValueError("user_agent must be printable ASCII")
        # The header fields every request carries, encoded once.
        self._common_fields = (
            f"Host: {self._origin.host_header}\r\n"
            f"Authorization: Bearer {api_key}\r\n"
            "Accept: application/json\r\n"
            f"Accept-Encoding: {ACCEPT_ENCODING}\r\n"
            f"User-Agent: {user_agent}\r\n"
        ).encode("latin-1")
        self._on_response = on_response
        self._pool: ConnectionPool | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"TelnyxClient(base_url={self._base_url!r})"

    @property
    def base_url(self) -> str:
        """The API root every request path is appended to (no trailing slash)."""
        return self._base_url

    async def start(self) -> None:
        """Create the connection pool (idempotent)."""
        self._ensure_pool()

    async def close(self) -> None:
        """Close the pooled connections; later requests raise RuntimeError."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _ensure_pool(self) -> ConnectionPool:
        if self._closed:
            raise RuntimeError("TelnyxClient is closed")
        if self._pool is None:
            self._pool = ConnectionPool(self._origin, max_connections=self._max_connections)
        return self._pool

    async def request(self, req: RestRequest) -> RestResponse:
        """Send one logical request, retrying as ``req.retry_mode`` allows, within ``req.deadline``.

        Returns the 2xx response. Raises :class:`TelnyxAPIError` for a final non-2xx answer,
        :class:`UpstreamUnavailable` when Telnyx could not be reached, :class:`UpstreamDeadlineExceeded` when
        time ran out, and :class:`UpstreamProtocolError` for a 2xx body that is not JSON. Cancelling the
        awaiting task aborts the in-flight HTTP request.
        """
        wire = self._encode(req)
        pool = self._pool or self._ensure_pool()
        number = 0
        while True:
            number += 1
            remaining_s = None if req.deadline is None else req.deadline - time.monotonic()
            if remaining_s is not None and remaining_s <= 0:
                raise UpstreamDeadlineExceeded(_deadline_reason(number - 1))
            limited_by_deadline = remaining_s is not None and remaining_s <= self._request_timeout_s
            limit_s = (
                remaining_s if remaining_s is not None and limited_by_deadline else self._request_timeout_s
            )
            attempt = _Attempt(number, limit_s, limited_by_deadline)
            result = await self._attempt(pool, req, wire, attempt)
            if isinstance(result, RestResponse):
                return result
            failure = result
            if not failure.retryable or number >= self._retry.max_attempts or self._closed:
                raise failure.error
            wait_s = self._retry.backoff.delay_s(number)
            if failure.retry_after_s is not None:
                if failure.retry_after_s > self._retry.max_retry_after_s:
                    raise failure.error
                wait_s = max(wait_s, failure.retry_after_s)
            if req.deadline is not None and time.monotonic() + wait_s >= req.deadline:
                # Sleeping would use up the caller's time: report what actually went wrong.
                raise failure.error
            await asyncio.sleep(wait_s)

    def _encode(self, req: RestRequest) -> bytes:
        """The request as it goes on the wire, head and body, built once and sent by every attempt."""
        target = self._origin.path + req.path
        if req.query:
            target += "?" + urlencode(req.query, quote_via=quote, safe="")
        method = req.method
        if not is_request_target(target) or not method.isalpha() or not method.isascii():
            raise UpstreamUnavailable("invalid request URL")
        line = f"{method} {target} HTTP/1.1\r\n".encode("ascii")
        if req.body is None:
            if method in _CONTENT_METHODS:
                return b"%s%sContent-Length: 0\r\n\r\n" % (line, self._common_fields)
            return b"%s%s\r\n" % (line, self._common_fields)
        data = json.dumps(req.body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return b"%s%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
            line,
            self._common_fields,
            len(data),
            data,
        )

    async def _attempt(
        self, pool: ConnectionPool, req: RestRequest, wire: bytes, attempt: _Attempt
    ) -> RestResponse | _Failure:
        """Run one HTTP exchange; returns the response on 2xx, otherwise a description of the failure."""
        outcome: RestResponse | _Failure
        # The attempt's time limit, kept as `asyncio.timeout` keeps it (cancel the task when it is up, and
        # tell that cancellation from the caller's own), without its six Python calls per attempt.
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("TelnyxClient.request must run in a task")
        cancelling = task.cancelling()
        expired: list[bool] = []
        limit = loop.call_at(loop.time() + attempt.limit_s, functools.partial(_expire, task, expired))
        try:
            connection = pool.take_idle()
            if connection is None:
                connection = await pool.connect(min(self._connect_timeout_s, attempt.limit_s))
            attempt.connected = True
            outcome = self._interpret(req, attempt, await connection.exchange(wire))
        except asyncio.CancelledError:
            if not expired or task.uncancel() > cancelling:
                raise  # the caller's cancellation (perhaps as well as ours): it goes on
            outcome = self._connection_failure(req, attempt, TimeoutError())
        except TransportError as exc:
            if expired:
                task.uncancel()
            outcome = self._connection_failure(req, attempt, exc)
        except BaseException:
            if expired:  # the limit's cancellation turned into another error: take it back all the same
                task.uncancel()
            raise
        else:
            if expired:
                task.uncancel()
        finally:
            limit.cancel()
        self._report(req, attempt, outcome, time.monotonic() - attempt.started)
        return outcome

    def _interpret(self, req: RestRequest, attempt: _Attempt, resp: Response) -> RestResponse | _Failure:
        status = resp.status
        raw = resp.body
        if 200 <= status < 300:
            try:
                payload = jsontext.loads(raw) if raw.strip() else None
            except ValueError:
                unreadable = UpstreamProtocolError(status, "body is not JSON")
                return _Failure(unreadable, retryable=False, status=status)
            return RestResponse(status=status, json=payload, headers=resp.headers, attempts=attempt.number)
        clean_headers = CIMultiDictProxy(CIMultiDict((k, self._scrub(v)) for k, v in resp.headers.items()))
        # Scrubbed before parsing (a body shown as text is cut to a length, which could cut an echoed key in
        # two) and again once parsed, when JSON escapes are resolved.
        text = self._scrub(raw.decode("utf-8", "replace")).encode("utf-8")
        errors = SECRETS.scrub_json(parse_error_body(status, self._scrub(resp.reason or ""), text))
        retry_after_s = parse_retry_after(clean_headers.get("Retry-After"))
        error = TelnyxAPIError(status, errors, retry_after_s, clean_headers)
        # A 429 is the rate limiter refusing the request before it was processed: safe to send again even
        # without a de-duplication key. A 5xx may come after the effect: only idempotent requests repeat it.
        mode = req.retry_mode
        retryable = (status == 429 and mode is not RetryMode.NONE) or (
            mode is RetryMode.IDEMPOTENT and status >= 500
        )
        hint_s = retry_after_s if status in _RETRY_AFTER_STATUSES else None
        return _Failure(error, retryable=retryable, status=status, retry_after_s=hint_s)

    def _connection_failure(self, req: RestRequest, attempt: _Attempt, exc: Exception) -> _Failure:
        """`exc` is the attempt's own time limit (a bare TimeoutError) or the transport's error."""
        limit_s = attempt.limit_s
        own_timeout = isinstance(exc, TimeoutError)
        if own_timeout and attempt.limited_by_deadline:
            return _Failure(UpstreamDeadlineExceeded(_deadline_reason(attempt.number)), retryable=False)
        # Nothing can have been written unless the attempt obtained a connection.
        never_sent = not attempt.connected or isinstance(exc, ConnectFailed)
        error: RestError
        if own_timeout and never_sent:
            error = UpstreamUnavailable(f"connect timeout after {limit_s:.3g}s")
        elif own_timeout:
            error = UpstreamDeadlineExceeded(f"no response within {limit_s:.3g}s")
        elif isinstance(exc, ConnectTimeout):
            error = UpstreamUnavailable(f"connect timeout after {min(self._connect_timeout_s, limit_s):.3g}s")
        else:
            error = UpstreamUnavailable(self._scrub(str(exc)))
        mode = req.retry_mode
        retryable = mode is RetryMode.IDEMPOTENT or (mode is RetryMode.UNSAFE and never_sent)
        return _Failure(error, retryable=retryable)

    def _report(
        self, req: RestRequest, attempt: _Attempt, outcome: RestResponse | _Failure, elapsed_s: float
    ) -> None:
        if _debug_enabled():
            fields: dict[str, Any] = {
                "method": req.method,
                "path": req.path,
                "status": outcome.status,
                "attempt": attempt.number,
                "latency_ms": round(elapsed_s * 1000, 3),
                "request_id": req.request_id,
            }
            if isinstance(outcome, _Failure):
                fields["error"] = str(outcome.error)
                fields["retryable"] = outcome.retryable
            _log.debug("telnyx_request", **fields)
        if self._on_response is not None:
            try:
                self._on_response(req.method, outcome.status, elapsed_s)
            except Exception:  # noqa: BLE001 - any failure of the caller's hook is logged, never raised
                # A broken metrics hook must not fail the request it observes.
                _log.warning("telnyx_response_hook_failed", method=req.method, path=req.path, exc_info=True)

    def _scrub(self, text: str) -> str:
        # The key itself even when too short for the shared scrubber.
        return SECRETS.scrub(text).replace(self._api_key, REDACTED)


def _expire(task: asyncio.Task[Any], expired: list[bool]) -> None:
    """An attempt's time is up: note it and cancel the attempt's task."""
    expired.append(True)
    task.cancel()


def _debug_enabled() -> bool:
    """Whether `_log` writes debug lines: a request's line is only put together when it is written."""
    try:
        return bool(_log.is_enabled_for(logging.DEBUG))
    except AttributeError:  # a logger configured without the filtering API: let it decide
        return True


def _deadline_reason(attempts: int) -> str:
    return f"deadline expired after {attempts} attempt{'s' if attempts != 1 else ''}"
