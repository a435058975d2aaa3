"""The client's address, taken only from proxies we trust (``LKK_TRUSTED_PROXIES``).

``X-Forwarded-For`` is written by whoever sends the request; only the entries that our
own proxies append mean anything. So the app itself (not uvicorn's command line, which
differs between the image, the embedded stack and the tests) decides from the settings:

- the socket peer is not a trusted proxy: the header is ignored, the peer is the client;
- otherwise the client is the right-most entry not added by a trusted proxy (walking
  from the right while each hop is trusted).

uvicorn's ``ProxyHeadersMiddleware`` does exactly that walk with a list of addresses and
CIDRs, so it is reused here. uvicorn's own copy must stay off (``--no-proxy-headers``):
it would rewrite the client address before this middleware sees the socket peer.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


class ClientAddressMiddleware:
    def __init__(self, app: ASGIApp, *, trusted_proxies: list[str]) -> None:
        self.app = app
        # An empty list trusts nobody: the header never changes the address.
        self._proxied: Any = ProxyHeadersMiddleware(app, trusted_hosts=list(trusted_proxies)) if trusted_proxies else None  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._proxied is None:
            await self.app(scope, receive, send)
            return
        await self._proxied(scope, receive, send)
