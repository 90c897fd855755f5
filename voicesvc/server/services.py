"""gRPC handlers for every route of the contract, built from the descriptors: no code per RPC."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import grpc

from voicesvc.server.translate import Translator
from voicesvc.transcode.routes import ROUTES, Route


def service_names(routes: Iterable[Route] = ROUTES) -> list[str]:
    """Full names of the services the routes belong to, in contract order."""
    return list(dict.fromkeys(route.service for route in routes))


def generic_handlers(
    translator: Translator, routes: Iterable[Route] = ROUTES
) -> list[grpc.GenericRpcHandler]:
    """One generic handler per service, serving each of its routed RPCs through `translator`."""
    by_service: dict[str, dict[str, grpc.RpcMethodHandler]] = defaultdict(dict)
    for route in routes:
        by_service[route.service][route.rpc] = grpc.unary_unary_rpc_method_handler(
            translator.behavior(route),
            request_deserializer=route.request_cls.FromString,
            response_serializer=route.response_cls.SerializeToString,
        )
    return [grpc.method_handlers_generic_handler(name, methods) for name, methods in by_service.items()]
