"""The captcha («код авторизации») on the registration form and on the login form after
failures, with a way through that needs no picture.

One challenge row serves two ways of passing it, with the same single use and expiry:
- the image: characters drawn by the maintained ``captcha`` package; the PNG is rendered
  once and stored with the challenge, so reloading its URL never gives fresh noise to
  average over;
- «Не могу прочитать код»: a proof of work in the ALTCHA shape. The browser looks for the
  number ``n`` (0..max) with ``SHA-256(salt + n) == challenge``; ``n`` is derived from the
  challenge id with the secret key, so nothing more is stored.

A challenge is taken (deleted) atomically by the first answer attempt, right or wrong,
so a burst reusing one solved challenge passes at most once. ``LKK_CAPTCHA_TEST_ANSWER``
makes a fixed typed answer always pass, for automated tests only; production refuses it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from captcha.image import ImageCaptcha
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from lkk.db import session_scope
from lkk.models import CaptchaChallenge
from lkk.settings import Settings
from lkk.timeutil import as_utc

# No member of a look-alike pair (S/5, Z/2, O/0, I/1, B/8, G/6, U/V): the letters are
# those with a Cyrillic twin, so typing them on a Russian layout works too.
LETTERS = "ACEHKMPTX"
DIGITS = "34679"
ALPHABET = LETTERS + DIGITS
# Russian-layout letters that look like Latin ones are read as their Latin twins.
_TWINS = str.maketrans("АВЕКМНОРСТХ", "ABEKMHOPCTX")
_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
_SOLUTION = re.compile(r"[0-9]{1,12}")
POW_ALGORITHM = "SHA-256"


@dataclass(frozen=True)
class Puzzle:
    """The no-picture check of one challenge, as the browser gets it."""

    salt: str
    challenge: str  # hex SHA-256 of salt + the secret number
    max_number: int


def normalize_answer(answer: str) -> str:
    """What the customer typed, as compared: no spaces, upper case, Latin twins."""
    return "".join(answer.split()).upper().translate(_TWINS)


def valid_id(challenge_id: str) -> bool:
    # Checked before any query: NUL bytes or odd text must never reach the database.
    return bool(_ID.fullmatch(challenge_id))


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


def _secret_number(settings: Settings, challenge_id: str) -> int:
    digest = hmac.new(settings.secret_key.encode(), b"captcha-pow:" + challenge_id.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % (settings.captcha_pow_max_number + 1)


def puzzle(settings: Settings, challenge_id: str) -> Puzzle:
    number = _secret_number(settings, challenge_id)
    challenge = hashlib.sha256(f"{challenge_id}{number}".encode()).hexdigest()
    return Puzzle(salt=challenge_id, challenge=challenge, max_number=settings.captcha_pow_max_number)


class _SolidCaptcha(ImageCaptcha):
    # The library pastes each character through a mask of its own brightness, so dark
    # text came out faint grey. Every drawn pixel (brightness > 0) is pasted solid.
    lookup_table = [0] + [255] * 255


def _render(answer: str) -> bytes:
    # Dark text on a light ground: contrast above 7:1 whatever the random shades
    # (dark stays above 0, or the mask above would drop it).
    dark = 20 + secrets.randbelow(40)
    light = 235 + secrets.randbelow(21)
    image = _SolidCaptcha(width=200, height=70)
    return image.generate(answer, bg_color=(light, light, 255), fg_color=(dark, dark, dark + 40, 255)).getvalue()


def image_png(engine: Engine, challenge_id: str, *, now: datetime) -> bytes | None:
    """The challenge's one picture: rendered at the first fetch, the same bytes afterwards."""
    if not valid_id(challenge_id):
        return None
    with session_scope(engine) as session:
        challenge = session.get(CaptchaChallenge, challenge_id)
        if challenge is None or as_utc(challenge.expires_at) <= now:
            return None
        if challenge.image is not None:
            return challenge.image
        answer = challenge.answer
    png = _render(answer)
    with session_scope(engine) as session:
        # Only the first of several concurrent fetches stores its rendering; all return it.
        session.exec(
            update(CaptchaChallenge)
            .where(CaptchaChallenge.id == challenge_id, CaptchaChallenge.image.is_(None))  # type: ignore[union-attr]
            .values(image=png)
        )
        stored: bytes | None = session.scalar(select(CaptchaChallenge.image).where(CaptchaChallenge.id == challenge_id))
        return stored


def _take(engine: Engine, challenge_id: str, *, now: datetime) -> str | None:
    """Delete the challenge and return its answer, if it was still there and fresh.
    One statement, so of concurrent attempts exactly one gets the row."""
    if not valid_id(challenge_id):
        return None
    with session_scope(engine) as session:
        row = session.exec(
            delete(CaptchaChallenge)
            .where(CaptchaChallenge.id == challenge_id)
            .returning(CaptchaChallenge.answer, CaptchaChallenge.expires_at)
        ).first()
    if row is None or as_utc(row.expires_at) <= now:
        return None
    return str(row.answer)


def _same(a: str, b: str) -> bool:
    # compare_digest refuses non-ASCII str; compare the UTF-8 bytes (surrogates too).
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def verify(
    engine: Engine, settings: Settings, challenge_id: str, answer: str, *, now: datetime, solution: str = ""
) -> bool:
    """Check and consume the challenge: the typed answer or the no-picture solution."""
    typed = normalize_answer(answer)
    expected = _take(engine, challenge_id, now=now)
    if settings.captcha_test_answer and typed and _same(typed, normalize_answer(settings.captcha_test_answer)):
        return True
    if expected is None:
        return False
    if typed:
        return _same(typed, expected)
    solution = solution.strip()
    if _SOLUTION.fullmatch(solution):
        return int(solution) == _secret_number(settings, challenge_id)
    return False


def solve(found: Puzzle) -> int:
    """The brute force the browser does (for tools and tests speaking the JSON API)."""
    for number in range(found.max_number + 1):
        if hashlib.sha256(f"{found.salt}{number}".encode()).hexdigest() == found.challenge:
            return number
    raise ValueError("no solution in range")
