"""CSRF protection of the HTML forms, with fastapi-csrf-protect (double-submit cookie).

Every page rendered by ``api.templating.render`` gets a ``csrf_token`` for its forms
and a signed copy in an HttpOnly cookie; every state-changing form POST must send the
token back as the ``csrf_token`` field (or an ``X-CSRF-Token`` header). The cookie is
reused while valid, so several open tabs keep working. The page routers declare
``dependencies=[CSRF_GUARD]``.

Tokens are bound to the browser's session: the signing key is the app's secret mixed
with a hash of the session cookie (or of nothing, before login). A cookie/token pair
obtained in another session, e.g. planted from a sibling subdomain, fails the signature
in the victim's session. Over HTTPS the cookie is ``__Host-lkk_csrf`` (``api.cookies``),
which a sibling subdomain cannot set at all.

The JSON API (``/api/``) does not use these tokens: it accepts only
``Content-Type: application/json`` on state-changing requests (see
``api.main.JsonOnlyApiMiddleware``), which a cross-site HTML form cannot send and a
cross-site script cannot send without a CORS preflight we never grant; the session
cookie is SameSite=Lax on top.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import Depends, Request, Response
from fastapi_csrf_protect.exceptions import CsrfProtectError
from fastapi_csrf_protect.flexible import CsrfProtect
from itsdangerous import BadData, URLSafeTimedSerializer

from api.cookies import cookie_name, is_secure, session_token_of
from lkk.settings import Settings

CSRF_FIELD = "csrf_token"
CSRF_COOKIE = "lkk_csrf"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# fastapi-csrf-protect signs the cookie with itsdangerous under this salt; reading it
# back lets a page reuse a still-valid token instead of invalidating other open tabs.
_LIBRARY_SALT = "fastapi-csrf-token"


class CsrfFailed(Exception):
    """The form came without a valid token: stale page, or another site posting."""


def make_csrf(settings: Settings) -> CsrfProtect:
    """A per-app configured instance (the library keeps its config on the class)."""
    cls: Any = type("LkkCsrfProtect", (CsrfProtect,), {})
    config = [
        ("secret_key", settings.secret_key),
        ("cookie_key", cookie_name(settings, CSRF_COOKIE)),
        ("cookie_samesite", "lax"),
        ("cookie_secure", is_secure(settings)),
        ("httponly", True),
        ("max_age", settings.csrf_token_seconds),
        ("token_location", "body"),
        ("token_key", CSRF_FIELD),
    ]
    cls.load_config(lambda: config)
    return cls()  # type: ignore[no-any-return]


def _csrf(request: Request) -> CsrfProtect:
    return request.app.state.csrf  # type: ignore[no-any-return]


def _session_key(request: Request) -> str:
    """The signing key of this browser session's tokens."""
    settings: Settings = request.app.state.settings
    session = session_token_of(request, settings) or ""
    return f"{settings.secret_key}|csrf|{hashlib.sha256(session.encode()).hexdigest()}"


def page_token(request: Request) -> tuple[str, str | None]:
    """The token for this page's forms, and the signed cookie value to set (None when
    the request already carries a valid cookie, which is then reused)."""
    settings: Settings = request.app.state.settings
    key = _session_key(request)
    signed = request.cookies.get(cookie_name(settings, CSRF_COOKIE))
    if signed:
        serializer = URLSafeTimedSerializer(key, salt=_LIBRARY_SALT)
        try:
            # Reuse only with at least half the lifetime left, so a page is never
            # rendered with a token about to expire.
            return str(serializer.loads(signed, max_age=settings.csrf_token_seconds // 2)), None
        except BadData:
            pass
    return _csrf(request).generate_csrf_tokens(secret_key=key)


def set_cookie(request: Request, response: Response, signed: str) -> None:
    _csrf(request).set_csrf_cookie(signed, response)


async def csrf_guard(request: Request) -> None:
    if request.method not in UNSAFE_METHODS:
        return
    await request.form()  # parsed once and cached; the library reads the cached form
    try:
        await _csrf(request).validate_csrf(request, secret_key=_session_key(request))
    except CsrfProtectError:
        raise CsrfFailed() from None


CSRF_GUARD = Depends(csrf_guard)
