"""CSRF defence of the JSON API: state-changing calls must be ``application/json``.

A cross-site HTML form can only send urlencoded, multipart or text/plain bodies, and a
cross-site script needs a CORS preflight to send JSON, which this API never grants.
DELETE needs a preflight cross-site anyway. Bodiless endpoints that change nothing of
a customer's (a new captcha challenge) are exempt.

Pure ASGI (no BaseHTTPMiddleware, which costs a task group and a stream per request).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

CHECKED_METHODS = frozenset({"POST", "PUT", "PATCH"})
EXEMPT_PATHS = frozenset({"/api/v1/captcha"})


def _checked(scope: Scope) -> bool:
    path: str = scope["path"]
    return scope["method"] in CHECKED_METHODS and path.startswith("/api/") and path not in EXEMPT_PATHS


def _served(scope: Scope) -> bool:
    """A method no route serves on this path gets the router's 405, not a 415."""
    return any(route.matches(scope)[0] is Match.FULL for route in scope["app"].router.routes)


class JsonOnlyApiMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _checked(scope):
            content_type = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()
            if content_type != "application/json" and _served(scope):
                refusal = JSONResponse({"detail": "Ожидается Content-Type: application/json."}, status_code=415)
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)
