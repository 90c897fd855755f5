"""gRPC handlers for every route of the contract, built from the descriptors: no code per RPC."""

from __future__ import annotations

from collections.abc import Iterable

import grpc

from voicesvc.server.methods import MethodTable
from voicesvc.server.translate import Translator
from voicesvc.transcode.routes import ROUTES, Route


def service_names(routes: Iterable[Route] = ROUTES) -> list[str]:
    """Full names of the services the routes belong to, in contract order."""
    return list(dict.fromkeys(route.service for route in routes))


def add_routes(table: MethodTable, translator: Translator, routes: Iterable[Route] = ROUTES) -> None:
    """Serve each routed RPC through `translator`."""
    for route in routes:
        table.add(
            route.full_method,
            grpc.unary_unary_rpc_method_handler(
                translator.behavior(route),
                request_deserializer=route.request_cls.FromString,
                response_serializer=route.response_cls.SerializeToString,
            ),
        )
