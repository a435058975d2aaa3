"""CSRF defence of the JSON API: state-changing calls must be ``application/json``.

A cross-site HTML form can only send urlencoded, multipart or text/plain bodies, and a
cross-site script needs a CORS preflight to send JSON, which this API never grants.
DELETE needs a preflight cross-site anyway. Bodiless endpoints that change nothing of
a customer's (a new captcha challenge) are exempt.
"""

from __future__ import annotations

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

CHECKED_METHODS = frozenset({"POST", "PUT", "PATCH"})
EXEMPT_PATHS = frozenset({"/api/v1/captcha"})


def _served(request: Request) -> bool:
    """A method no route serves on this path gets the router's 405, not a 415."""
    return any(route.matches(request.scope)[0] is Match.FULL for route in request.app.router.routes)


class JsonOnlyApiMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if (
            request.method in CHECKED_METHODS
            and request.url.path.startswith("/api/")
            and request.url.path not in EXEMPT_PATHS
        ):
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != "application/json" and _served(request):
                return JSONResponse({"detail": "Ожидается Content-Type: application/json."}, status_code=415)
        return await call_next(request)
