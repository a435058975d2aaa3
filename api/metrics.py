"""Prometheus for the API: request count and latency per route template, and ``/metrics``."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import Message, Receive, Scope, Send

from api.http_middleware import HttpMiddleware
from lkk.metrics import HTTP_LATENCY, HTTP_REQUESTS

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    # Scraped by Prometheus from the internal network; the reverse proxy must not publish it.
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _route_label(scope: Scope) -> str:
    # The route *template* (/confirm, /api/v1/registrations), never the raw URL: a
    # query string may carry a link token, and raw paths would explode cardinality.
    # The router records the matched route in the (shared) scope.
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class MetricsMiddleware(HttpMiddleware):
    """Pure ASGI (no BaseHTTPMiddleware): reads the status off the response's start message."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route = _route_label(scope)
            HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)
