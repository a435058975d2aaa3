"""The cookies the cabinet sets, all HttpOnly and SameSite=Lax; Secure over HTTPS."""

from __future__ import annotations

from fastapi import Response

from lkk.settings import Settings

SIGNUP_COOKIE = "lkk_signup"


def _secure(settings: Settings) -> bool:
    return settings.public_base_url.startswith("https://")


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        settings.session_cookie_name,
        token,
        max_age=settings.session_absolute_seconds,
        httponly=True,
        samesite="lax",
        secure=_secure(settings),
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(settings.session_cookie_name, path="/")


def set_signup_cookie(response: Response, settings: Settings, handle: str) -> None:
    response.set_cookie(
        SIGNUP_COOKIE,
        handle,
        max_age=settings.signup_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=_secure(settings),
        path="/",
    )
