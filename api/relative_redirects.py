"""Redirects stay on the cabinet's origin whatever the request's Host header says.

Starlette builds some redirects as absolute URLs from the Host header (the trailing
slash redirect, ``url_for``): a request with a forged Host would send the browser, or a
cache in between, to another site. This turns any ``Location`` that points at the
request's own Host into a path on the same origin; the app's own redirects are paths
already. Pure ASGI, applied to the response's start message.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import Message, Receive, Scope, Send

from api.http_middleware import HttpMiddleware


def same_origin_path(location: str, host: str) -> str:
    parts = urlsplit(location)
    if parts.netloc and parts.netloc.lower() == host.lower():
        path = parts.path if parts.path.startswith("/") else "/" + parts.path
        # "//x" would be read as another host: collapse leading slashes.
        return urlunsplit(("", "", "/" + path.lstrip("/"), parts.query, parts.fragment))
    return location


class RelativeRedirectsMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        host = Headers(scope=scope).get("host", "")

        async def send_relative(message: Message) -> None:
            if message["type"] == "http.response.start" and host:
                headers = MutableHeaders(scope=message)
                location = headers.get("location")
                if location:
                    headers["location"] = same_origin_path(location, host)
            await send(message)

        await self.app(scope, receive, send_relative)
