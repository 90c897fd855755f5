"""Client interceptors: the caller's bearer token and a default deadline on every RPC, typed errors
(`voicesvc.client.errors`), and retries of UNAVAILABLE that never act twice.

Retries (`RetryPolicy`) apply to unary calls that are safe to repeat: AIP reads (`Get…`, `List…`, or a
`google.api.http` GET rule) and requests with a `command_id` (at the top or in the command member of an
`ExecuteCommandRequest`). An empty `command_id` is filled with a fresh UUID once, before the first attempt,
so every attempt carries the same one and Telnyx (or the sandbox) runs the command once. Streams are not
retried here: `watch`, `pull` and `calls.watch` resume by themselves.
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.api import annotations_pb2
from google.protobuf import descriptor_pool
from google.protobuf.message import Message
from grpc import aio

from voicesvc.backoff import Backoff, Jitter
from voicesvc.client.errors import from_grpc_error

_DEFAULT_BACKOFF = Backoff(initial_s=0.1, max_s=2.0, multiplier=2.0, jitter=Jitter.FULL)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently the client retries UNAVAILABLE: `max_attempts` attempts in all (1 turns
    retries off), waits from `backoff`. The caller's deadline bounds every attempt and wait together."""

    max_attempts: int = 4
    backoff: Backoff = _DEFAULT_BACKOFF

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


DEFAULT_RETRY = RetryPolicy()
"""On by default: four attempts, 0.1 s doubling up to 2 s between them (full jitter)."""
NO_RETRY = RetryPolicy(max_attempts=1)
"""One attempt only."""


def _method_name(method: str | bytes) -> str:
    text = method.decode() if isinstance(method, bytes) else method
    return text.strip("/").replace("/", ".")


@functools.cache
def _is_read(method: str) -> bool:
    """An AIP read (`Get…`/`List…`), or a method whose http rule is a GET: repeating it changes nothing."""
    name = method.rsplit(".", 1)[-1]
    if name.startswith(("Get", "List")):
        return True
    try:
        found = descriptor_pool.Default().FindMethodByName(method)
    except KeyError:
        return False
    options: Any = found.GetOptions()  # the stubs type extensions by their exact descriptor class
    return options.HasExtension(annotations_pb2.http) and bool(options.Extensions[annotations_pb2.http].get)


def _command_holder(request: Any) -> Message | None:
    """The message of `request` that carries a `command_id`: the request, or its set command member."""
    if not isinstance(request, Message):
        return None
    fields = request.DESCRIPTOR.fields_by_name
    if "command_id" in fields:
        return request
    for oneof in request.DESCRIPTOR.oneofs:
        member = request.WhichOneof(oneof.name)
        if member is not None and fields[member].message_type is not None:
            inner = getattr(request, member)
            if "command_id" in inner.DESCRIPTOR.fields_by_name:
                return inner  # type: ignore[no-any-return]
    return None


def prepare_request(method: str | bytes, request: Any) -> tuple[Any, bool]:
    """The request to send on every attempt, and whether the call may be retried.

    A request with an empty `command_id` is copied with a fresh one (the caller's message is left as it
    is); a request with a `command_id` or an AIP read may be retried.
    """
    holder = _command_holder(request)
    if holder is None:
        return request, _is_read(_method_name(method))
    if not holder.command_id:  # type: ignore[attr-defined]
        copy = type(request)()
        copy.CopyFrom(request)
        request = copy
        holder = _command_holder(request)
        assert holder is not None
        holder.command_id = str(uuid.uuid4())  # type: ignore[attr-defined]
    return request, True


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()


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
    def __init__(self, *, retry: RetryPolicy = DEFAULT_RETRY, **defaults: Any) -> None:
        super().__init__(**defaults)
        self._retry = retry

    async def intercept_unary_unary(
        self, continuation: Any, client_call_details: aio.ClientCallDetails, request: Any
    ) -> Any:
        details = self._details(client_call_details, "unary_unary")
        request, retryable = prepare_request(details.method, request)
        attempts = self._retry.max_attempts if retryable else 1
        deadline = _deadline(details.timeout)
        attempt = 1
        while True:
            try:
                return await (await continuation(details, request))
            except aio.AioRpcError as error:
                wait = self._retry.backoff.delay_s(attempt)
                left = _remaining(deadline)
                if (
                    error.code() != grpc.StatusCode.UNAVAILABLE
                    or attempt >= attempts
                    or (left is not None and left <= wait)
                ):
                    raise from_grpc_error(error) from error
            await asyncio.sleep(wait)
            attempt += 1
            left = _remaining(deadline)
            if left is not None:
                details = _with_timeout(details, left)


def _with_timeout(details: aio.ClientCallDetails, timeout: float) -> aio.ClientCallDetails:
    return aio.ClientCallDetails(
        method=details.method,
        timeout=timeout,
        metadata=details.metadata,
        credentials=details.credentials,
        wait_for_ready=details.wait_for_ready,
    )


async def _typed_errors(call: Any) -> AsyncIterator[Any]:
    try:
        async for item in call:
            yield item
    except aio.AioRpcError as error:
        raise from_grpc_error(error) from error


class _UnaryStream(_ClientDefaults, aio.UnaryStreamClientInterceptor):
    def __init__(self, *, retry: RetryPolicy = DEFAULT_RETRY, **defaults: Any) -> None:
        super().__init__(**defaults)

    async def intercept_unary_stream(
        self, continuation: Any, client_call_details: aio.ClientCallDetails, request: Any
    ) -> Any:
        # grpc.aio serves read() and iteration of the caller's call from this iterator; cancel() and the
        # metadata still go to the real call.
        return _typed_errors(await continuation(self._details(client_call_details, "unary_stream"), request))


class _StreamUnary(_ClientDefaults, aio.StreamUnaryClientInterceptor):
    def __init__(self, *, retry: RetryPolicy = DEFAULT_RETRY, **defaults: Any) -> None:
        super().__init__(**defaults)

    async def intercept_stream_unary(
        self, continuation: Any, client_call_details: aio.ClientCallDetails, request_iterator: Any
    ) -> Any:
        call = await continuation(self._details(client_call_details, "stream_unary"), request_iterator)
        try:
            return await call
        except aio.AioRpcError as error:
            raise from_grpc_error(error) from error


class _StreamStream(_ClientDefaults, aio.StreamStreamClientInterceptor):
    def __init__(self, *, retry: RetryPolicy = DEFAULT_RETRY, **defaults: Any) -> None:
        super().__init__(**defaults)

    async def intercept_stream_stream(
        self, continuation: Any, client_call_details: aio.ClientCallDetails, request_iterator: Any
    ) -> Any:
        details = self._details(client_call_details, "stream_stream")
        return _typed_errors(await continuation(details, request_iterator))


def client_defaults(
    *, token: str | None = None, timeout: float | None = None, retry: RetryPolicy = DEFAULT_RETRY
) -> list[aio.ClientInterceptor]:
    """Interceptors adding the bearer token to every call and `timeout` to calls without a deadline
    (except server streams such as WatchEvents, which are meant to stay open), raising typed errors
    (`VoiceError` subclasses) and retrying UNAVAILABLE by `retry` where that is safe."""
    kinds = (_UnaryUnary, _UnaryStream, _StreamUnary, _StreamStream)
    return [kind(token=token, timeout=timeout, retry=retry) for kind in kinds]


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
    retry: RetryPolicy = DEFAULT_RETRY,
) -> aio.Channel:
    """An asyncio channel to `target` with the `client_defaults` interceptors installed.

    Keepalive pings are on by default (`KEEPALIVE_OPTIONS`; options given here take precedence): a connection
    that died without a reset is noticed, so a watcher that reconnects gets a fresh one.
    """
    interceptors = client_defaults(token=token, timeout=timeout, retry=retry)
    given = {name for name, _ in options}
    options = [*options, *((k, v) for k, v in KEEPALIVE_OPTIONS if k not in given)]
    if tls is not None:
        return aio.secure_channel(target, tls, options=list(options), interceptors=interceptors)
    return aio.insecure_channel(target, options=list(options), interceptors=interceptors)
