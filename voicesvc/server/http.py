"""The HTTP side of the service: Telnyx webhooks, liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from voicesvc.server.metrics import CONTENT_TYPE, Metrics

WEBHOOK_PATH = "/webhooks/telnyx"
WebhookHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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


def build_http_app(
    metrics: Metrics,
    readiness: Readiness,
    webhook_handler: WebhookHandler | None = None,
    *,
    client_max_size: int = 1024 * 1024,
) -> web.Application:
    """`GET /healthz` (the process is up), `GET /readyz` (it is serving), `GET /metrics`, and, when a
    handler is given, `POST /webhooks/telnyx`."""

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_request: web.Request) -> web.Response:
        return web.json_response(
            {"status": "ready" if readiness.ready else "not ready", "reason": readiness.reason},
            status=200 if readiness.ready else 503,
        )

    async def metrics_page(_request: web.Request) -> web.Response:
        response = web.Response(body=metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response

    # The webhook handler enforces its own, usually smaller, body limit; this is only the outer bound.
    app = web.Application(client_max_size=client_max_size)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    if webhook_handler is not None:
        app.router.add_post(WEBHOOK_PATH, webhook_handler)
    return app
