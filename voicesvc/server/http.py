"""The routes of the HTTP port: Telnyx webhooks, liveness, readiness and Prometheus metrics (served by
`voicesvc.server.httpd`)."""

from __future__ import annotations

from voicesvc.server.httpd import HttpRequest, HttpResponse, Route, Routes, json_response
from voicesvc.server.metrics import CONTENT_TYPE, Metrics
from voicesvc.webhooks import WebhookIngress

WEBHOOK_PATH = "/webhooks/telnyx"
PROBE_MAX_BODY_BYTES = 4096
"""A GET has no use for a body: the probes and `/metrics` hold at most this much of one."""


class Readiness:
    """Whether the service should receive traffic: not while starting, not while something it needs is held
    down (`hold`), and not once shutdown began."""

    def __init__(self) -> None:
        self._phase = "starting"
        self._holds: dict[str, None] = {}  # reasons, in the order they arose

    @property
    def ready(self) -> bool:
        """Whether the service is serving and nothing holds it back."""
        return self._phase == "serving" and not self._holds

    @property
    def reason(self) -> str:
        """Why the service is (not) ready."""
        if self._phase == "serving" and self._holds:
            return next(iter(self._holds))
        return self._phase

    def set_ready(self) -> None:
        """Serving (ready unless something holds it back)."""
        self._phase = "serving"

    def set_not_ready(self, reason: str) -> None:
        """Not ready for `reason` (a phase such as shutting down) until `set_ready`."""
        self._phase = reason

    def hold(self, reason: str) -> None:
        """Not ready for `reason` until `release(reason)`."""
        self._holds[reason] = None

    def release(self, reason: str) -> None:
        """End the hold for `reason`; no effect when it held nothing."""
        self._holds.pop(reason, None)

    def held(self, reason: str) -> bool:
        """Whether `reason` currently holds the service back."""
        return reason in self._holds


def http_routes(metrics: Metrics, readiness: Readiness, ingress: WebhookIngress | None = None) -> Routes:
    """`GET /healthz` (the process is up), `GET /readyz` (it is serving), `GET /metrics`, and, with
    `ingress`, `POST /webhooks/telnyx`."""

    async def healthz(_request: HttpRequest) -> HttpResponse:
        return json_response({"status": "ok"})

    async def readyz(_request: HttpRequest) -> HttpResponse:
        return json_response(
            {"status": "ready" if readiness.ready else "not ready", "reason": readiness.reason},
            200 if readiness.ready else 503,
        )

    async def metrics_page(_request: HttpRequest) -> HttpResponse:
        return HttpResponse(200, metrics.render(), CONTENT_TYPE)

    routes: dict[str, dict[str, Route]] = {
        "/healthz": {"GET": Route(healthz, max_body_bytes=PROBE_MAX_BODY_BYTES)},
        "/readyz": {"GET": Route(readyz, max_body_bytes=PROBE_MAX_BODY_BYTES)},
        "/metrics": {"GET": Route(metrics_page, max_body_bytes=PROBE_MAX_BODY_BYTES)},
    }
    if ingress is not None:
        routes[WEBHOOK_PATH] = {"POST": _webhook_route(ingress)}
    return routes


def _webhook_route(ingress: WebhookIngress) -> Route:
    async def receive(request: HttpRequest) -> HttpResponse:
        reply = await ingress.receive(request.headers, request.body, request.remote)
        return HttpResponse(reply.status, reply.body)

    def too_large(request: HttpRequest, _limit: int) -> HttpResponse:
        reply = ingress.refuse_too_large(request.remote)
        return HttpResponse(reply.status, reply.body)

    return Route(receive, max_body_bytes=ingress.max_body_bytes, too_large=too_large)
