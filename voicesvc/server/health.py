"""`grpc.health.v1.Health`: the library's asyncio servicer, completed with `List`."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health, health_pb2

_Status = health_pb2.HealthCheckResponse


class HealthServicer(health.aio.HealthServicer):
    """Check and Watch from grpcio-health-checking, plus List (which its asyncio servicer leaves
    unimplemented although the protocol defines it)."""

    async def List(
        self, request: health_pb2.HealthListRequest, context: grpc.aio.ServicerContext
    ) -> health_pb2.HealthListResponse:
        """Every registered service with its serving status."""
        statuses: dict[str, int] = dict(self._server_status)
        return health_pb2.HealthListResponse(
            statuses={name: _Status(status=status) for name, status in statuses.items()}
        )
