"""The base of this API's pure ASGI middlewares.

Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``, which buffers responses and
runs the app in another task. Lifespan and websocket traffic passes through
untouched; a subclass implements ``handle`` for HTTP requests only.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class HttpMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError
