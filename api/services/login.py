"""Login with login + password, safe against guessing and account enumeration.

Order of checks, and why:
1. per-client-IP limits (every attempt; failures) — cheap, before any argon2 work;
2. the per-login lockout and captcha, counted per *login key* whether or not the
   account exists, so neither reveals which logins are registered;
3. exactly two argon2 verifications on every failure — the password (or a dummy hash
   for an unknown login), then the live one-time password of a recovery (or the
   dummy) — so unknown login, wrong password and "a recovery is pending" take the
   same time and get the same answer («Неверное имя пользователя или пароль»).
A success with the real password re-hashes it when the argon2 parameters changed.
A success with the mailed one-time password swaps it in (the old password stops
working), revokes every session, opens one that must set a new password, and sends
the "password changed" e-mail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from starlette.concurrency import run_in_threadpool

from api.deps import AppContext
from api.ratelimit import RateLimiter
from api.services import passwords as password_svc
from lkk import captcha, metrics, validation
from lkk.security.passwords import hash_password, needs_rehash, verify_or_dummy
from lkk.store import credentials, login_throttle, web_sessions
from lkk.timeutil import utcnow

log = logging.getLogger(__name__)

INVALID_CREDENTIALS = "Неверное имя пользователя или пароль"
CAPTCHA_NEEDED = "Введите код с картинки."
CAPTCHA_WRONG = "Код с картинки введён неверно. Введите новый код."


def locked_message(seconds: int) -> str:
    minutes = max((seconds + 59) // 60, 1)
    return f"Слишком много неудачных попыток входа. Повторите через {minutes} мин. или восстановите пароль."


def rate_limited_message(seconds: int) -> str:
    return f"Слишком много запросов с вашего адреса. Повторите через {max(seconds, 1)} с."


class LoginOutcome(StrEnum):
    SUCCESS = "success"
    MUST_CHANGE_PASSWORD = "must_change_password"  # logged in with the mailed password
    INVALID = "invalid"
    CAPTCHA = "captcha"  # captcha missing or wrong: the password was not checked
    LOCKED = "locked"
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    session_token: str | None = None
    retry_after_seconds: int = 0
    captcha_required: bool = False  # show the captcha with the next attempt


class _Match(StrEnum):
    NONE = "none"
    PASSWORD = "password"
    ONE_TIME = "one_time"


@dataclass(frozen=True)
class _Checked:
    match: _Match
    creds: credentials.Credentials | None = None


async def login(
    ctx: AppContext,
    limiter: RateLimiter,
    client_ip: str,
    username: str,
    password: str,
    captcha_id: str = "",
    captcha_answer: str = "",
    captcha_solution: str = "",
) -> LoginResult:
    settings = ctx.settings
    retry = await run_in_threadpool(limiter.hit, "login", client_ip) or await run_in_threadpool(
        limiter.test, "login_failures", client_ip
    )
    if retry:
        return LoginResult(LoginOutcome.RATE_LIMITED, retry_after_seconds=retry)
    now = utcnow()
    key = validation.login_key(username)
    throttle = await run_in_threadpool(login_throttle.state, ctx.engine, settings, key, now=now)
    locked = throttle.locked_seconds(now)
    captcha_needed = throttle.failures >= settings.login_captcha_after_failures
    if locked:
        return LoginResult(LoginOutcome.LOCKED, retry_after_seconds=locked, captcha_required=captcha_needed)
    if captcha_needed:
        solved = await run_in_threadpool(
            captcha.verify, ctx.engine, settings, captcha_id, captcha_answer, now=now, solution=captcha_solution
        )
        if not solved:
            return LoginResult(LoginOutcome.CAPTCHA, captcha_required=True)

    checked = await run_in_threadpool(_check, ctx, key, password, now)
    if checked.match is _Match.ONE_TIME and checked.creds is not None:
        swapped = await run_in_threadpool(
            credentials.use_one_time_password, ctx.engine, checked.creds.account_id, checked.creds.otp_hash or "", now=now
        )
        if not swapped:  # used or replaced by a concurrent request a moment ago
            checked = _Checked(_Match.NONE)
    if checked.match is _Match.NONE or checked.creds is None:
        state = await run_in_threadpool(login_throttle.record_failure, ctx.engine, settings, key, now=now)
        if state.locked_until is not None:
            metrics.LOGIN_LOCKOUTS.inc()
        await run_in_threadpool(limiter.hit, "login_failures", client_ip)
        return LoginResult(
            LoginOutcome.INVALID, captcha_required=state.failures >= settings.login_captcha_after_failures
        )

    account_id = checked.creds.account_id
    if throttle.failures:
        await run_in_threadpool(login_throttle.clear, ctx.engine, key)
    token = await run_in_threadpool(web_sessions.open_session, ctx.engine, settings, account_id, now=now)
    if checked.match is _Match.ONE_TIME:
        log.info("account %s logged in with a recovery password; must set its own", account_id)
        await password_svc.one_time_password_used(ctx, account_id, now)
        return LoginResult(LoginOutcome.MUST_CHANGE_PASSWORD, session_token=token)
    log.info("account %s logged in", account_id)
    return LoginResult(LoginOutcome.SUCCESS, session_token=token)


def _check(ctx: AppContext, key: str, password: str, now: datetime) -> _Checked:
    """Runs in a thread: the argon2 work (two verifications on every failure)."""
    settings = ctx.settings
    creds = credentials.for_login(ctx.engine, key, now=now) if key else None
    if verify_or_dummy(settings, creds.password_hash if creds else None, password) and creds is not None:
        if not creds.must_change_password:
            _rehash_if_needed(ctx, creds, password)
            return _Checked(_Match.PASSWORD, creds)
        # The mailed password was already used once: it opens nothing any more.
    if verify_or_dummy(settings, creds.otp_hash if creds else None, password) and creds is not None:
        return _Checked(_Match.ONE_TIME, creds)
    return _Checked(_Match.NONE)


def _rehash_if_needed(ctx: AppContext, creds: credentials.Credentials, password: str) -> None:
    if needs_rehash(ctx.settings, creds.password_hash):
        new_hash = hash_password(ctx.settings, password)
        if credentials.rehash(ctx.engine, creds.account_id, creds.password_hash, new_hash):
            log.info("account %s password re-hashed at the current argon2 parameters", creds.account_id)

