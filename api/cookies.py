"""The cookies the cabinet sets, all HttpOnly and SameSite=Lax; Secure over HTTPS.

Over HTTPS every cookie name carries the ``__Host-`` prefix: browsers then accept it
only with Secure, Path=/ and no Domain, so a sibling subdomain (another site of the
supplier) cannot plant or shadow it. Plain-HTTP development keeps the bare names
(browsers refuse ``__Host-`` cookies without Secure).
"""

from __future__ import annotations

from fastapi import Request, Response

from lkk.settings import Settings

SIGNUP_COOKIE = "lkk_signup"
HOST_PREFIX = "__Host-"


def is_secure(settings: Settings) -> bool:
    return settings.public_base_url.startswith("https://")


def cookie_name(settings: Settings, base: str) -> str:
    return f"{HOST_PREFIX}{base}" if is_secure(settings) else base


def session_cookie(settings: Settings) -> str:
    return cookie_name(settings, settings.session_cookie_name)


def session_token_of(request: Request, settings: Settings) -> str | None:
    return request.cookies.get(session_cookie(settings))


def signup_handle_of(request: Request, settings: Settings) -> str:
    return request.cookies.get(cookie_name(settings, SIGNUP_COOKIE), "")


def _set(response: Response, settings: Settings, name: str, value: str, max_age: int) -> None:
    # Every cookie of ours: script-proof, sent on top-level navigations only, whole site.
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=is_secure(settings), path="/"
    )


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    _set(response, settings, session_cookie(settings), token, settings.session_absolute_seconds)


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(session_cookie(settings), path="/", secure=is_secure(settings), httponly=True)


def set_signup_cookie(response: Response, settings: Settings, handle: str) -> None:
    # As long as the longest sign-up may live (its TTL plus the expiry jitter).
    lifetime = settings.signup_ttl_seconds + settings.signup_expiry_jitter_seconds
    _set(response, settings, cookie_name(settings, SIGNUP_COOKIE), handle, lifetime)


def clear_signup_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(cookie_name(settings, SIGNUP_COOKIE), path="/", secure=is_secure(settings), httponly=True)
