"""Every method the gRPC server serves, in one table that grpc.aio asks once per call.

grpc.aio waits for the next call of each *registered* method separately: with generated code registering
every method of a service (`add_registered_method_handlers`), each incoming call of any method makes its
accept loop wait on, and then detach from, one pending request per registered method (17 here). Served as
one generic handler instead, every call is accepted through a single pending request and its handler is one
dictionary look-up away (Health.Check at 64 concurrent calls: 0.182 → 0.173 ms of CPU per call).

`MethodTable` is that handler, and it is also what the generated `add_*Servicer_to_server` functions (and
reflection) are given in place of the server: they hand it their method handlers. Given a `wrap`, it wraps
each handler once as it comes in (the service's request id, authentication, decoding, access log and
metrics), so nothing more runs per call: a grpc.aio server interceptor, even one that only passes the call
on, costs about 4.5 µs of CPU per call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import grpc

__all__ = ["MethodTable"]


HandlerWrap = Callable[[str, grpc.RpcMethodHandler], grpc.RpcMethodHandler]
"""`(full method name, handler) → the handler to serve instead`."""


class MethodTable(grpc.GenericRpcHandler):  # type: ignore[misc]  # grpc is untyped
    """Method handlers by full method name (`/package.Service/Method`), each passed through `wrap`."""

    def __init__(self, wrap: HandlerWrap | None = None) -> None:
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}
        self._others: list[grpc.GenericRpcHandler] = []
        self._wrap = wrap

    def add(self, method: str, handler: grpc.RpcMethodHandler) -> None:
        """Serve `method` with `handler`; a method is served once (a second handler is refused)."""
        if method in self._handlers:
            raise ValueError(f"{method} is already served")
        self._handlers[method] = handler if self._wrap is None else self._wrap(method, handler)

    def add_registered_method_handlers(
        self, service: str, handlers: Mapping[str, grpc.RpcMethodHandler]
    ) -> None:
        """What generated code registers a service's methods with (as on `grpc.aio.Server`)."""
        for name, handler in handlers.items():
            self.add(f"/{service}/{name}", handler)

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        """Generated code passes its methods here as well; they are found in the table first, so these are
        only asked about a method the table does not hold (code that registers nothing else)."""
        self._others.extend(handlers)

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        """The handler of the call's method, or None (gRPC answers UNIMPLEMENTED)."""
        handler = self._handlers.get(handler_call_details.method)
        if handler is not None:
            return handler
        for other in self._others:
            handler = other.service(handler_call_details)
            if handler is not None:
                return handler if self._wrap is None else self._wrap(handler_call_details.method, handler)
        return None

    def __contains__(self, method: object) -> bool:
        return method in self._handlers
