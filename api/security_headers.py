"""Security headers on every response: no framing, no referrer (links carry tokens),
strict CSP, no cross-origin window sharing; HSTS when served over HTTPS.

Pure ASGI (no BaseHTTPMiddleware, which costs a task group and a stream per request):
the headers are added to the response's start message on its way out.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http_middleware import HttpMiddleware

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeadersMiddleware(HttpMiddleware):
    def __init__(self, app: ASGIApp, *, https: bool = False, docs: bool = False) -> None:
        super().__init__(app)
        self._https = https
        self._docs = docs  # the dev-only API docs pages are served (see api.main)

    def _headers_for(self, path: str) -> dict[str, str]:
        headers = dict(HEADERS)
        if self._https:
            headers["Strict-Transport-Security"] = HSTS
        if path.startswith("/api/"):
            # JSON answers can carry personal data: no shared caches.
            headers["Cache-Control"] = "no-store"
        if self._docs and path in ("/docs", "/docs/oauth2-redirect", "/redoc"):
            # Development only: FastAPI's docs pages load their assets from a CDN and inline a script.
            del headers["Content-Security-Policy"]
        return headers

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        wanted = self._headers_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
