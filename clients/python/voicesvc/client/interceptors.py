"""Client interceptors that attach the caller's bearer token and a default deadline to every RPC."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
from grpc import aio

# The kinds of call that get the default deadline. A server stream (WatchEvents) is meant to stay open
# indefinitely, so it only carries a deadline when the caller passes one explicitly.
_BOUNDED = ("unary_unary", "stream_unary")


def _metadata(
    existing: aio.Metadata | Sequence[tuple[str, str | bytes]] | None, extra: Sequence[tuple[str, str]]
) -> aio.Metadata:
    out = aio.Metadata()
    for key, value in existing or ():
        out.add(key, value)
    for key, value in extra:
        if key not in out:
            out.add(key, value)
    return out


class _ClientDefaults:
    """Adds `authorization: Bearer <token>` (when a token is set) and a default timeout.

    Metadata or a timeout passed explicitly on a call take precedence over these defaults.
    """

    def __init__(self, *, token: str | None = None, timeout: float | None = None) -> None:
        if token is not None and (not token or any(c.isspace() for c in token)):
            raise ValueError("token must be non-empty and contain no whitespace")
        self._extra: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()
        self._timeout = timeout

    def _details(self, details: aio.ClientCallDetails, kind: str) -> aio.ClientCallDetails:
        timeout = details.timeout
        if timeout is None and kind in _BOUNDED:
            timeout = self._timeout
        return aio.ClientCallDetails(
            method=details.method,
            timeout=timeout,
            metadata=_metadata(details.metadata, self._extra),
            credentials=details.credentials,
            wait_for_ready=details.wait_for_ready,
        )


# grpc.aio files each interceptor under the first of the four kinds it implements, so one object cannot
# serve them all: each kind of call gets its own class.


class _UnaryUnary(_ClientDefaults, aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(
        self, continuation: Any, client_call_details: aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._details(client_call_details, "unary_unary"), request)


class _UnaryStream(_ClientDefaults, aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(
        self, continuation: Any, client_call_details: aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._details(client_call_details, "unary_stream"), request)


class _StreamUnary(_ClientDefaults, aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(
        self, continuation: Any, client_call_details: aio.ClientCallDetails, request_iterator: Any
    ) -> Any:
        return await continuation(self._details(client_call_details, "stream_unary"), request_iterator)


class _StreamStream(_ClientDefaults, aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(
        self, continuation: Any, client_call_details: aio.ClientCallDetails, request_iterator: Any
    ) -> Any:
        return await continuation(self._details(client_call_details, "stream_stream"), request_iterator)


def client_defaults(*, token: str | None = None, timeout: float | None = None) -> list[aio.ClientInterceptor]:
    """Interceptors adding the bearer token to every call and `timeout` to calls without a deadline
    (except server streams such as WatchEvents, which are meant to stay open)."""
    kinds = (_UnaryUnary, _UnaryStream, _StreamUnary, _StreamStream)
    return [kind(token=token, timeout=timeout) for kind in kinds]


KEEPALIVE_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
)


def open_channel(
    target: str,
    *,
    token: str | None = None,
    tls: grpc.ChannelCredentials | None = None,
    timeout: float | None = None,
    options: Sequence[tuple[str, Any]] = (),
) -> aio.Channel:
    """An asyncio channel to `target` with the `client_defaults` interceptors installed.

    Keepalive pings are on by default (`KEEPALIVE_OPTIONS`; options given here take precedence): a connection
    that died without a reset is noticed, so a watcher that reconnects gets a fresh one.
    """
    interceptors = client_defaults(token=token, timeout=timeout)
    given = {name for name, _ in options}
    options = [*options, *((k, v) for k, v in KEEPALIVE_OPTIONS if k not in given)]
    if tls is not None:
        return aio.secure_channel(target, tls, options=list(options), interceptors=interceptors)
    return aio.insecure_channel(target, options=list(options), interceptors=interceptors)
