"""Refuse oversized request bodies with a clear 413 before anything parses them.

Pure ASGI (no BaseHTTPMiddleware): it checks ``Content-Length`` up front and also
counts the bytes of chunked bodies as they stream in, so a client that lies about
or omits the length still cannot make the app buffer megabytes.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http_middleware import HttpMiddleware

TOO_LARGE_API = {"detail": "Слишком большой запрос.", "errors": {}}
TOO_LARGE_PAGE = "Слишком большой запрос: форма не может быть такой длинной."


class BodyLimitMiddleware(HttpMiddleware):
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        super().__init__(app)
        self.max_body_bytes = max_body_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await _refuse(scope, send)
            return
        received = 0
        started = refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    # Answer now and tell the app the client is gone: frameworks turn an
                    # exception raised here into their own 400, which would hide the cause.
                    refused = True
                    if not started:
                        await _refuse(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # we already answered 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(scope: Scope, send: Send) -> None:
    if scope.get("path", "").startswith("/api/"):
        body = json.dumps(TOO_LARGE_API, ensure_ascii=False).encode()
        content_type = b"application/json"
    else:
        body = TOO_LARGE_PAGE.encode()
        content_type = b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
