"""Prometheus for the API: request count and latency per route template, and ``/metrics``."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request

from lkk.metrics import HTTP_LATENCY, HTTP_REQUESTS

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    # Scraped by Prometheus from the internal network; the reverse proxy must not publish it.
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _route_label(request: Request) -> str:
    # The route *template* (/confirm, /api/v1/registrations), never the raw URL: a
    # query string may carry a link token, and raw paths would explode cardinality.
    route = request.scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class MetricsMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = _route_label(request)
            HTTP_REQUESTS.labels(request.method, route, str(status)).inc()
            HTTP_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
