"""One-shot page notices («Договор № … отвязан») that only the server can write.

A notice used to travel in the redirect's query string, so any link could make the
cabinet print its text. Now the redirect sets a short-lived cookie holding the notice's
kind and its contract number, signed with the secret key and bound to the browser's
session token; the next page shows it once and deletes the cookie. A crafted URL or a
cookie planted without the session and the key shows nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from enum import StrEnum

from fastapi import Request, Response

from api.cookies import cookie_name, is_secure
from lkk.settings import Settings

FLASH_COOKIE = "lkk_flash"
FLASH_SECONDS = 60  # long enough for the redirect, short enough to be gone after


class Notice(StrEnum):
    WELCOME = "welcome"
    PASSWORD_CHANGED = "password_changed"
    BOUND = "bound"
    ALREADY_BOUND = "already"
    UNBOUND = "unbound"
    # company accounts (the payload: the e-mail, login or contract numbers named)
    INVITED = "invited"
    INVITATION_RESENT = "resent"
    INVITATION_REVOKED = "inv_revoked"
    ROLE_CHANGED = "role"
    ACCESS_REVOKED = "access_revoked"
    INVITATION_ACCEPTED = "accepted"


def _signature(settings: Settings, session_token: str, payload: str) -> str:
    message = f"flash|{hashlib.sha256(session_token.encode()).hexdigest()}|{payload}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def set_flash(response: Response, settings: Settings, session_token: str, notice: Notice, number: str = "") -> None:
    # No "=" padding: a cookie value with "=" gets quoted on the way out.
    payload = base64.urlsafe_b64encode(json.dumps([notice.value, number], ensure_ascii=False).encode()).decode().rstrip("=")
    response.set_cookie(
        cookie_name(settings, FLASH_COOKIE),
        f"{payload}.{_signature(settings, session_token, payload)}",
        max_age=FLASH_SECONDS,
        httponly=True,
        samesite="lax",
        secure=is_secure(settings),
        path="/",
    )


def read_flash(request: Request, settings: Settings, session_token: str | None) -> tuple[Notice, str] | None:
    """The notice the server left for this session, if any (and intact)."""
    raw = request.cookies.get(cookie_name(settings, FLASH_COOKIE), "")
    payload, _, signature = raw.partition(".")
    if not (payload and signature and session_token):
        return None
    if not hmac.compare_digest(signature.encode(), _signature(settings, session_token, payload).encode()):
        return None
    try:
        kind, number = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return Notice(kind), str(number)
    except (ValueError, TypeError):
        return None


def clear_flash(response: Response, settings: Settings) -> None:
    response.delete_cookie(cookie_name(settings, FLASH_COOKIE), path="/", secure=is_secure(settings), httponly=True)
