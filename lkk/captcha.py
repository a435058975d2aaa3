"""The image captcha («код авторизации») on the registration form.

Images come from the maintained ``captcha`` package. A challenge is one-time (any
answer attempt consumes it) and expires. ``LKK_CAPTCHA_TEST_ANSWER`` makes a fixed
answer always pass, for automated tests only; production settings refuse it.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta

from captcha.image import ImageCaptcha
from sqlalchemy import delete
from sqlalchemy.engine import Engine

from lkk.db import session_scope
from lkk.models import CaptchaChallenge
from lkk.settings import Settings
from lkk.timeutil import as_utc

# No 0/O, 1/I/L: the answer must be readable by people.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_challenge(engine: Engine, settings: Settings, *, now: datetime) -> str:
    challenge_id = secrets.token_urlsafe(24)
    answer = "".join(secrets.choice(ALPHABET) for _ in range(settings.captcha_length))
    with session_scope(engine) as session:
        session.exec(delete(CaptchaChallenge).where(CaptchaChallenge.expires_at < now))
        session.add(
            CaptchaChallenge(
                id=challenge_id, answer=answer, expires_at=now + timedelta(seconds=settings.captcha_ttl_seconds)
            )
        )
    return challenge_id


def image_png(engine: Engine, challenge_id: str, *, now: datetime) -> bytes | None:
    with session_scope(engine) as session:
        challenge = session.get(CaptchaChallenge, challenge_id)
        if challenge is None or as_utc(challenge.expires_at) <= now:
            return None
        answer = challenge.answer
    return ImageCaptcha(width=200, height=70).generate(answer).getvalue()


def verify(engine: Engine, settings: Settings, challenge_id: str, answer: str, *, now: datetime) -> bool:
    """Check and consume the challenge."""
    typed = answer.strip().upper()
    with session_scope(engine) as session:
        challenge = session.get(CaptchaChallenge, challenge_id) if challenge_id else None
        if challenge is not None:
            session.delete(challenge)
    if settings.captcha_test_answer and hmac.compare_digest(typed, settings.captcha_test_answer.upper()):
        return True
    if challenge is None or as_utc(challenge.expires_at) <= now:
        return False
    return hmac.compare_digest(typed, challenge.answer)
