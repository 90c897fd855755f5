"""What happens around every RPC, in this order: a request id and the log context; bearer-token
authentication (when tokens are configured); decoding the request inside the RPC (so undecodable bytes get
INVALID_ARGUMENT, after authentication); the access-log line and the metrics.

`RpcInterceptor` composes these for every method handler the server has, whoever registered it (contract
services, EventStream, health, reflection, any later service), once per method: a unary call runs one
wrapper coroutine, not one per concern (each layer costs the hot path). The service wraps each handler as
it goes into its method table (`RpcInterceptor.wrap`), so no interceptor runs per call; as a grpc.aio
server interceptor it does the same for any other server. `TokenCheck` is the authentication rule; the
`_decoding_*` functions move a handler's deserializer into its behaviour.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import inspect
import os
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any, NoReturn

import grpc
import structlog

from voicesvc.server import logging as service_logging
from voicesvc.server.context import RpcRecord, current_rpc
from voicesvc.server.logging import write_line
from voicesvc.server.metrics import Metrics
from voicesvc.server.status import (
    abort,
    server_shutdown_status,
    unauthenticated_status,
    undecodable_request_status,
)

REQUEST_ID_KEY = "x-request-id"
# A caller-supplied request id is echoed into logs, so only short, printable ids are accepted.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

HEALTH_METHODS = frozenset(
    {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch", "/grpc.health.v1.Health/List"}
)
"""Methods open without a token, so load balancers and orchestrators can probe the service."""

# A refused request stream is read until the caller half-closes (bounded by these) before the status goes out.
_DRAIN_IDLE_S = 0.5
_DRAIN_LIMIT_S = 2.0

_access_log = structlog.get_logger("voicesvc.access")
_log = structlog.get_logger("voicesvc.server")
_REQUEST_IDS = random.Random()
os.register_at_fork(after_in_child=_REQUEST_IDS.seed)  # a forked child draws ids of its own
_CODE_NAMES = {code: code.name for code in grpc.StatusCode}
_OK = grpc.StatusCode.OK
Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]]


def _metadata_value(metadata: Sequence[tuple[str, Any]] | None, key: str) -> str | None:
    for name, value in metadata or ():
        if name == key:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return None


_KEEP: Any = object()


def _replace_behavior(
    handler: grpc.RpcMethodHandler, behavior: Callable[..., Any], request_deserializer: Any = _KEEP
) -> grpc.RpcMethodHandler:
    """A handler of the same kind and serialisation as `handler` (or with `request_deserializer`), running
    `behavior` instead."""
    common = {
        "request_deserializer": (
            handler.request_deserializer if request_deserializer is _KEEP else request_deserializer
        ),
        "response_serializer": handler.response_serializer,
    }
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(behavior, **common)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(behavior, **common)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(behavior, **common)
    return grpc.unary_unary_rpc_method_handler(behavior, **common)


class _HandlerCache:
    """Wrapped handlers kept per (method, original handler), so a call reuses the wrapping of the calls
    before it instead of building closures and a handler of its own.

    Keyed by the original handler's identity (it is kept alive by its entry). Bounded: past `limit` entries
    nothing more is kept and wrapping happens per call, as without a cache.
    """

    def __init__(self, limit: int = 4096) -> None:
        self._entries: dict[tuple[str, int], tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}
        self._limit = limit

    def get(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler | None:
        entry = self._entries.get((method, id(handler)))
        if entry is not None and entry[0] is handler:
            return entry[1]
        return None

    def put(
        self, method: str, handler: grpc.RpcMethodHandler, wrapped: grpc.RpcMethodHandler
    ) -> grpc.RpcMethodHandler:
        if len(self._entries) < self._limit:
            self._entries[method, id(handler)] = (handler, wrapped)
        return wrapped


def _original_behavior(handler: grpc.RpcMethodHandler) -> Callable[..., Any]:
    for name in ("unary_unary", "unary_stream", "stream_unary", "stream_stream"):
        behavior: Callable[..., Any] | None = getattr(handler, name)
        if behavior is not None:
            return behavior
    raise ValueError("RPC method handler without a behaviour")


class InFlight:
    """Counts running unary RPCs so shutdown can wait for them to finish.

    The interceptor counts with `count` itself (two updates per RPC, no call), and calls `left` when the
    count reaches zero while `waiter` is set.
    """

    __slots__ = ("count", "waiter")

    def __init__(self) -> None:
        self.count = 0
        """How many RPCs are in flight."""
        self.waiter: asyncio.Future[None] | None = None
        """What `wait_idle` waits for, while it does."""

    def left(self) -> None:
        """The count reached zero: wake `wait_idle`."""
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait_idle(self) -> None:
        """Return once no unary RPC is running."""
        while self.count:
            if self.waiter is None:
                self.waiter = asyncio.get_running_loop().create_future()
            await asyncio.shield(self.waiter)


class _Outcome:
    """Reports one RPC's final code and duration exactly once, to the access log and the metrics."""

    def __init__(self, report: Callable[[grpc.StatusCode, float], None], started: float) -> None:
        self._report = report
        self._started = started
        self.done = False
        """Whether the outcome was reported (a caller reporting it itself sets it)."""

    def settle(self, code: grpc.StatusCode, ended: float | None = None) -> None:
        """Report `code`, for an RPC that ended at `ended` (`time.monotonic()`; now unless given)."""
        if not self.done:
            self.done = True
            self._report(code, (time.monotonic() if ended is None else ended) - self._started)


class _SettleBeforeAbort:
    """The servicer's context, except that an abort settles the outcome first, and every trailing metadata
    it sends carries `trailing` (a unary RPC's `x-request-id`).

    grpc.aio puts the status on the wire inside `abort()`, before the exception it raises reaches any
    `finally`: settling there means a caller who has seen the status also finds it in `/metrics`.
    """

    __slots__ = ("_context", "_outcome", "_trailing")

    def __init__(
        self, context: grpc.aio.ServicerContext, outcome: _Outcome, trailing: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self._context = context
        self._outcome = outcome
        self._trailing = trailing

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def time_remaining(self) -> float | None:
        """As the context says (asked by every translated call: found here without `__getattr__`)."""
        remaining: float | None = self._context.time_remaining()
        return remaining

    def set_trailing_metadata(self, trailing_metadata: Any) -> None:
        self._context.set_trailing_metadata((*trailing_metadata, *self._trailing))

    async def abort(self, code: grpc.StatusCode, details: str = "", trailing_metadata: Any = ()) -> None:
        self._outcome.settle(code)
        await self._context.abort(code, details, (*trailing_metadata, *self._trailing))

    async def abort_with_status(self, status: grpc.Status) -> None:
        self._outcome.settle(status.code)
        await self._context.abort(
            status.code, status.details, (*(status.trailing_metadata or ()), *self._trailing)
        )


class RpcInterceptor(grpc.aio.ServerInterceptor):
    """What wraps every handler: gives every RPC a request id (echoed as `x-request-id`), binds it and the
    method to the log context, refuses callers without a valid token (when `tokens` are given; the health
    methods stay open), decodes the request inside the RPC, writes one access-log line per RPC and records
    the RPC metrics.

    `wrap` applies it to one handler, once; as a grpc.aio server interceptor it wraps each method's handler
    on its first call and reuses the wrapping.

    A unary RPC carries its `x-request-id` in the trailing metadata, which leaves in the same batch as the
    response and the status; a stream sends it as initial metadata, before its first message.
    """

    def __init__(self, metrics: Metrics, tokens: Iterable[str] | None = None) -> None:
        self.metrics = metrics
        self.inflight = InFlight()
        self._auth = TokenCheck(tokens) if tokens is not None else None
        self._ending = False
        self._open_writers: set[asyncio.Timeout] = set()
        self._wrapped = _HandlerCache()

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        """The method's handler wrapped once (and reused): observed, authenticated, decoded."""
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        return self.wrap(handler_call_details.method, handler)

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """`handler` of `method`, observed, authenticated and decoded (the same wrapping for the same
        handler)."""
        wrapped = self._wrapped.get(method, handler)
        if wrapped is not None:
            return wrapped
        return self._wrapped.put(method, handler, self._wrap(method, handler))

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        decode: Callable[[bytes], Any] | None = handler.request_deserializer
        behavior = _original_behavior(handler)
        auth = self._auth if self._auth is not None and method not in self._auth.exempt else None
        if not (handler.response_streaming or handler.request_streaming):
            observed = self._unary(behavior, method, decode, auth)
        else:
            # Outermost first: the token is checked before anything of the request is decoded.
            if decode is not None:
                behavior = _decoding_behavior(behavior, decode, handler)
            if auth is not None:
                behavior = _authorizing(behavior, auth, handler.request_streaming)
            if handler.response_streaming:
                observed = self._streaming(behavior, method)
            else:
                observed = self._unary(behavior, method, None, None)
        return _replace_behavior(handler, observed, request_deserializer=None)

    def _begin(self, method: str, context: grpc.aio.ServicerContext) -> RpcRecord:
        request_id = _metadata_value(context.invocation_metadata(), REQUEST_ID_KEY)
        if request_id is None or not _REQUEST_ID.fullmatch(request_id):
            # An id to tell calls apart in the logs, not a secret: 128 bits of a generator of our own (no
            # system call), which nothing else seeds.
            request_id = f"{_REQUEST_IDS.getrandbits(128):032x}"
        # The peer is read while the call is surely alive; a cancelled call's context must not be asked.
        record = RpcRecord(request_id=request_id, peer=context.peer(), rpc=method)
        # Each RPC runs in its own task, so the record never leaks into another call. Every line logged while
        # it runs names its request id and method: `configure_logging`'s chain reads them from the record
        # (`rpc_context`); under any other structlog configuration they are bound as context variables.
        current_rpc.set(record)
        if not service_logging.rpc_context_in_chain:
            structlog.contextvars.bind_contextvars(request_id=request_id, rpc=method)
        return record

    def _finish(self, method: str, record: RpcRecord, code: grpc.StatusCode, elapsed_s: float) -> None:
        # An enum's hash is a Python call: the usual code is told by identity.
        name = "OK" if code is _OK else _CODE_NAMES[code]
        self.metrics.rpcs.observe((method, name), elapsed_s)
        fields: dict[str, Any] = {
            "code": name,
            "latency_ms": round(elapsed_s * 1000, 3),
            "upstream_status": record.upstream_status,
            "peer": record.peer,
        }
        if record.upstream_attempts > 1:
            fields["upstream_attempts"] = record.upstream_attempts
        # The log context's two keys, named here because the line is written without structlog's merge.
        fields["request_id"] = record.request_id
        fields["rpc"] = method
        if code in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL):
            level = "error"
        elif method in HEALTH_METHODS:
            level = "debug"  # probes arrive every few seconds; keep them out of the info-level log
        else:
            level = "info"
        write_line(_access_log, level, "rpc", fields)

    def _unary(
        self,
        behavior: Callable[..., Any],
        method: str,
        decode: Callable[[bytes], Any] | None,
        auth: TokenCheck | None,
    ) -> Callable[..., Any]:
        # The hot path: one coroutine per call does the request id, the decoding, the call and its report.
        always_awaitable = inspect.iscoroutinefunction(behavior)

        async def observed(raw: Any, context: grpc.aio.ServicerContext) -> Any:
            record = self._begin(method, context)
            started = time.monotonic()
            outcome = _Outcome(functools.partial(self._finish, method, record), started)
            code = _OK
            inflight = self.inflight
            inflight.count += 1
            try:
                echo = ((REQUEST_ID_KEY, record.request_id),)
                context.set_trailing_metadata(echo)
                servicer_context = _SettleBeforeAbort(context, outcome, echo)
                if auth is not None:
                    problem = auth.check(context.invocation_metadata())
                    if problem is not None:
                        await abort(servicer_context, unauthenticated_status(problem))
                request = raw
                if decode is not None:
                    try:
                        request = decode(raw)
                    except Exception as exc:  # noqa: BLE001 - whatever the deserializer raises, not a request
                        await _refuse_undecodable(decode, raw, exc, servicer_context)
                result = behavior(request, servicer_context)
                if always_awaitable or inspect.isawaitable(result):
                    result = await result
                code = context.code() or _OK
                return result
            except BaseException as exc:
                code = _failure_code(exc, context)
                raise
            finally:
                inflight.count -= 1
                if not inflight.count and inflight.waiter is not None:
                    inflight.left()
                if code is _OK and not outcome.done:
                    outcome.done = True
                    # Reported once the response is on its way, so the access log and the metrics are not
                    # part of the caller's wait; anything the caller does next runs after this callback. The
                    # duration is the handler's, as for every other outcome.
                    asyncio.get_running_loop().call_soon(
                        self._finish, method, record, code, time.monotonic() - started
                    )
                else:
                    outcome.settle(code)

        return observed

    def end_streams(self) -> None:
        """End every running and future `context.write`-style stream (such as health watches) with
        UNAVAILABLE, so their clients reconnect elsewhere; used at shutdown.

        Generator-style streams are not interrupted here: WatchEvents is ended by its own servicer, and
        anything left is cancelled by the server when the grace period is over.
        """
        self._ending = True
        now = asyncio.get_running_loop().time()
        for limit in list(self._open_writers):
            limit.reschedule(now)

    def _streaming(self, behavior: Callable[..., Any], method: str) -> Callable[..., Any]:
        # gRPC tells generator handlers from `context.write` handlers by their function type: keep it. Both
        # wrappers run the behaviour in the handler's own task (gRPC's RPC state is tied to it).
        if inspect.isasyncgenfunction(behavior):

            async def observed_generator(
                request: Any, context: grpc.aio.ServicerContext
            ) -> AsyncIterator[Any]:
                record = self._begin(method, context)
                request_id = record.request_id
                started = time.monotonic()
                outcome = _Outcome(functools.partial(self._finish, method, record), started)
                code = grpc.StatusCode.OK
                responses = behavior(request, _SettleBeforeAbort(context, outcome))
                try:
                    await context.send_initial_metadata(((REQUEST_ID_KEY, request_id),))
                    async for item in responses:
                        yield item
                    code = context.code() or grpc.StatusCode.OK
                except BaseException as exc:
                    code = _failure_code(exc, context)
                    raise
                finally:
                    # Close the servicer's generator here, in this task, rather than at garbage collection.
                    await responses.aclose()
                    outcome.settle(code)

            return observed_generator

        async def observed_writer(request: Any, context: grpc.aio.ServicerContext) -> None:
            record = self._begin(method, context)
            request_id = record.request_id
            started = time.monotonic()
            outcome = _Outcome(functools.partial(self._finish, method, record), started)
            code = grpc.StatusCode.OK
            limit: asyncio.Timeout | None = None
            try:
                await context.send_initial_metadata(((REQUEST_ID_KEY, request_id),))
                # A timeout without a deadline, moved to "now" by end_streams(): it cancels the behaviour
                # inside this very task.
                async with asyncio.timeout(None) as limit:
                    self._open_writers.add(limit)
                    try:
                        if self._ending:
                            limit.reschedule(asyncio.get_running_loop().time())
                        result = behavior(request, _SettleBeforeAbort(context, outcome))
                        if inspect.isawaitable(result):
                            await result
                    finally:
                        self._open_writers.discard(limit)
                code = context.code() or grpc.StatusCode.OK
            except TimeoutError:
                if limit is None or not limit.expired():
                    code = grpc.StatusCode.UNKNOWN
                    raise
                status = server_shutdown_status()
                code = status.code
                outcome.settle(code)
                await abort(context, status)
            except BaseException as exc:
                code = _failure_code(exc, context)
                raise
            finally:
                outcome.settle(code)

        return observed_writer


def _failure_code(exc: BaseException, context: grpc.aio.ServicerContext) -> grpc.StatusCode:
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        # gRPC cancels the handler both when the caller gives up and when the caller's deadline passes.
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            return grpc.StatusCode.DEADLINE_EXCEEDED
        return grpc.StatusCode.CANCELLED
    # What the caller receives: the code the handler set (an abort sets one too), else UNKNOWN.
    code = context.code()
    if code is not None and code != grpc.StatusCode.OK:
        return code
    return grpc.StatusCode.UNKNOWN


class TokenCheck:
    """The rule for `authorization: Bearer <token>` metadata: it must match one of the configured tokens.

    Tokens are compared in constant time, and every configured token is compared, so response timing tells
    nothing about how close a guess was. Methods in `exempt` (the health checks) need no token.
    """

    def __init__(self, tokens: Iterable[str], exempt: Iterable[str] = HEALTH_METHODS) -> None:
        self._tokens = [t.encode() for t in tokens]
        if not self._tokens:
            raise ValueError("TokenCheck needs at least one token")
        self.exempt = frozenset(exempt)

    def check(self, metadata: Sequence[tuple[str, Any]] | None) -> str | None:
        """None when the metadata carries a valid token, else why not."""
        header = _metadata_value(metadata, "authorization")
        if header is None:
            return "missing bearer token: send 'authorization: Bearer <token>' metadata"
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "authorization metadata must be 'Bearer <token>'"
        given = token.strip().encode()
        matched = False
        for expected in self._tokens:
            matched |= hmac.compare_digest(given, expected)
        return None if matched else "invalid bearer token"


async def drain_requests(requests: Any) -> None:
    """Read and drop what the caller still sends on a request stream the server is about to refuse, until it
    half-closes, pauses (`_DRAIN_IDLE_S`) or `_DRAIN_LIMIT_S` is over.

    A status sent while the caller is still writing reaches grpc.aio clients as INTERNAL ("Internal error
    from Core": the client's failing write overwrites the status it received), so the refusal waits.
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + _DRAIN_LIMIT_S
    iterator = aiter(requests)
    with contextlib.suppress(TimeoutError, StopAsyncIteration):
        while True:
            try:
                async with asyncio.timeout(min(_DRAIN_IDLE_S, end - loop.time())):
                    await anext(iterator)
            except (TimeoutError, StopAsyncIteration):
                raise
            except Exception:  # noqa: BLE001 - a broken or cancelled stream has nothing more to read
                return


def _authorizing(
    behavior: Callable[..., Any], auth: TokenCheck, request_streaming: bool
) -> Callable[..., Any]:
    """A streaming handler's behaviour that first checks the caller's token: a refused caller gets
    UNAUTHENTICATED (after what it still sends is drained), and its requests are never decoded."""

    async def refuse(requests: Any, context: grpc.aio.ServicerContext, problem: str) -> NoReturn:
        if request_streaming:
            await drain_requests(requests)
        await abort(context, unauthenticated_status(problem))

    # gRPC tells generator handlers from `context.write` handlers by their function type: keep it.
    if inspect.isasyncgenfunction(behavior):

        async def authorized_generator(
            requests: Any, context: grpc.aio.ServicerContext
        ) -> AsyncIterator[Any]:
            problem = auth.check(context.invocation_metadata())
            if problem is not None:
                await refuse(requests, context, problem)
            async for item in behavior(requests, context):
                yield item

        return authorized_generator

    async def authorized(requests: Any, context: grpc.aio.ServicerContext) -> Any:
        problem = auth.check(context.invocation_metadata())
        if problem is not None:
            await refuse(requests, context, problem)
        result = behavior(requests, context)
        if inspect.isawaitable(result):
            result = await result
        return result

    return authorized


def _decoding_behavior(
    behavior: Callable[..., Any], decode: Callable[[bytes], Any], handler: grpc.RpcMethodHandler
) -> Callable[..., Any]:
    """A streaming handler's behaviour taking the raw request bytes: it decodes them itself.

    gRPC core reports a deserializer's exception as UNKNOWN with an error-level traceback, before any
    interceptor's behaviour runs (so before authentication, the access log and the metrics). Decoding in the
    behaviour instead, bytes that are not the method's request message (corrupt wire format, invalid UTF-8 in
    a string, nesting beyond protobuf's limit) end the RPC with INVALID_ARGUMENT and one warning line.
    """
    if handler.request_streaming:
        return _decoding_stream(behavior, decode, handler.response_streaming)
    return _decoding_unary(behavior, decode, handler.response_streaming)


def _message_type(decode: Callable[[bytes], Any]) -> str:
    """The full name of the message `decode` (a generated class's `FromString`) builds, when it tells."""
    descriptor = getattr(getattr(decode, "__self__", None), "DESCRIPTOR", None)
    name = getattr(descriptor, "full_name", None)
    return name if isinstance(name, str) else "request"


async def _decode(
    decode: Callable[[bytes], Any], raw: Any, context: grpc.aio.ServicerContext, requests: Any = None
) -> Any:
    """`raw` decoded, or the RPC ended with INVALID_ARGUMENT (the rest of a request stream drained first)."""
    try:
        return decode(raw)
    except Exception as exc:  # noqa: BLE001 - whatever the deserializer raises, the bytes are not a request
        await _refuse_undecodable(decode, raw, exc, context, requests)


async def _refuse_undecodable(
    decode: Callable[[bytes], Any],
    raw: Any,
    exc: Exception,
    context: grpc.aio.ServicerContext,
    requests: Any = None,
) -> NoReturn:
    """End the RPC with INVALID_ARGUMENT for bytes `decode` refused, with one warning line."""
    message_type = _message_type(decode)
    reason = str(exc) or type(exc).__name__
    size = len(raw) if isinstance(raw, bytes | bytearray) else None
    _log.warning("undecodable_request", message_type=message_type, reason=reason, size=size)
    if requests is not None:
        await drain_requests(requests)
    await abort(context, undecodable_request_status(message_type, reason))


def _decoding_unary(
    behavior: Callable[..., Any], decode: Callable[[bytes], Any], response_streaming: bool
) -> Callable[..., Any]:
    # gRPC tells generator handlers from `context.write` handlers by their function type: keep it.
    if response_streaming and inspect.isasyncgenfunction(behavior):

        async def decoded_generator(raw: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            request = await _decode(decode, raw, context)
            async for item in behavior(request, context):
                yield item

        return decoded_generator

    async def decoded(raw: Any, context: grpc.aio.ServicerContext) -> Any:
        request = await _decode(decode, raw, context)
        result = behavior(request, context)
        if inspect.isawaitable(result):
            result = await result
        return result

    return decoded


class _DecodingContext:
    """The servicer's context, except that `read()` decodes what it reads."""

    def __init__(
        self, context: grpc.aio.ServicerContext, decode: Callable[[bytes], Any], requests: Any
    ) -> None:
        self._context = context
        self._decode = decode
        self._requests = requests

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    async def read(self) -> Any:
        raw = await self._context.read()
        if raw is grpc.aio.EOF:
            return raw
        return await _decode(self._decode, raw, self._context, self._requests)


def _decoding_stream(
    behavior: Callable[..., Any], decode: Callable[[bytes], Any], response_streaming: bool
) -> Callable[..., Any]:
    def wrap(raw_requests: Any, context: grpc.aio.ServicerContext) -> tuple[Any, Any]:
        async def requests() -> AsyncIterator[Any]:
            async for raw in raw_requests:
                yield await _decode(decode, raw, context, raw_requests)

        return requests(), _DecodingContext(context, decode, raw_requests)

    if response_streaming and inspect.isasyncgenfunction(behavior):

        async def decoded_generator(
            raw_requests: Any, context: grpc.aio.ServicerContext
        ) -> AsyncIterator[Any]:
            requests, wrapped = wrap(raw_requests, context)
            async for item in behavior(requests, wrapped):
                yield item

        return decoded_generator

    async def decoded(raw_requests: Any, context: grpc.aio.ServicerContext) -> Any:
        requests, wrapped = wrap(raw_requests, context)
        result = behavior(requests, wrapped)
        if inspect.isawaitable(result):
            result = await result
        return result

    return decoded
