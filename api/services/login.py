"""Login with login + password, safe against guessing and account enumeration.

Order of checks, and why:
1. per-client-IP limits (every attempt; failures) — cheap, before any argon2 work,
   each counted and decided in one atomic step (the failures rule is refunded when
   no password turned out wrong);
2. the per-login lockout and captcha, counted per *login key* whether or not the
   account exists, so neither reveals which logins are registered; the attempt is
   reserved (counted as a failure) *before* the password is checked, so a burst of
   concurrent attempts checks no more passwords than the limits promise;
3. exactly two argon2 verifications on every failure — the password (or a dummy hash
   for an unknown login), then the live one-time password of a recovery (or the
   dummy) — so unknown login, wrong password and "a recovery is pending" take the
   same time and get the same answer («Неверное имя пользователя или пароль»).
During a lock only the mailed one-time password is checked (with a solved captcha),
so a recovery still opens the cabinet; the account's own password is not.
The right password of a sign-up whose e-mail is not confirmed yet gets its own answer
(it reveals nothing to anyone without the password) and the offer to resend the link.
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

from sqlmodel import Session
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
EMAIL_NOT_CONFIRMED = (
    "Адрес электронной почты ещё не подтверждён. Откройте ссылку из письма, которое мы отправили при регистрации, "
    "или отправьте письмо ещё раз."
)


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
    EMAIL_NOT_CONFIRMED = "email_not_confirmed"  # the right password; the sign-up is not confirmed yet


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    session_token: str | None = None
    retry_after_seconds: int = 0
    captcha_required: bool = False  # show the captcha with the next attempt
    # EMAIL_NOT_CONFIRMED: whose confirmation link to offer again; MUST_CHANGE_PASSWORD: whose notice to send
    account_id: str | None = None


class _Match(StrEnum):
    NONE = "none"
    PASSWORD = "password"
    ONE_TIME = "one_time"
    UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True)
class _Checked:
    match: _Match
    creds: credentials.Credentials | None = None


@dataclass(frozen=True)
class _Attempt:
    username: str
    password: str
    captcha_id: str
    captcha_answer: str
    captcha_solution: str


async def login(
    ctx: AppContext,
    db: Session,
    limiter: RateLimiter,
    client_ip: str,
    username: str,
    password: str,
    captcha_id: str = "",
    captcha_answer: str = "",
    captcha_solution: str = "",
) -> LoginResult:
    """One thread hop for the whole attempt (limits, lockout, captcha, argon2, session);
    then, after a recovery password opened the cabinet, its notice (Temporal)."""
    now = utcnow()
    attempt = _Attempt(username, password, captcha_id, captcha_answer, captcha_solution)
    result = await run_in_threadpool(_limited_login, ctx, db, limiter, client_ip, attempt, now)
    if result.outcome is LoginOutcome.MUST_CHANGE_PASSWORD and result.account_id is not None:
        await password_svc.one_time_password_used(ctx, db, result.account_id, now)
    return result


def _limited_login(
    ctx: AppContext, db: Session, limiter: RateLimiter, client_ip: str, attempt: _Attempt, now: datetime
) -> LoginResult:
    # Both per-address rules count first and decide in the same step; "login_failures"
    # is refunded below whenever no password turned out wrong.
    retry = limiter.hit("login", client_ip) or limiter.hit("login_failures", client_ip)
    if retry:
        return LoginResult(LoginOutcome.RATE_LIMITED, retry_after_seconds=retry)
    result = _login(ctx, db, attempt, now)
    if result.outcome not in (LoginOutcome.INVALID, LoginOutcome.LOCKED):
        limiter.refund("login_failures", client_ip)
    return result


def _login(ctx: AppContext, db: Session, attempt: _Attempt, now: datetime) -> LoginResult:
    settings = ctx.settings
    key = validation.login_key(attempt.username)
    sent = bool(attempt.captcha_id or attempt.captcha_answer.strip() or attempt.captcha_solution)
    reservation = login_throttle.reserve(db, settings, key, now=now, captcha_solved=False)
    if not reservation.granted:
        # The captcha is consumed only when it is needed (past the threshold, or for the
        # one-time password during a lock), then the reservation is tried again with it.
        solved = sent and captcha.verify(
            ctx.engine, settings, attempt.captcha_id, attempt.captcha_answer, now=now, solution=attempt.captcha_solution
        )
        if reservation.state.locked_seconds(now):
            if solved:  # the mailed one-time password still opens the cabinet
                return _one_time_during_lock(ctx, db, key, attempt.password, reservation.state, now)
            return _locked(reservation.state, now)
        if not solved:
            return LoginResult(LoginOutcome.CAPTCHA, captcha_required=True)
        reservation = login_throttle.reserve(db, settings, key, now=now, captcha_solved=True)
        if not reservation.granted:  # locked by a concurrent attempt meanwhile
            return _locked(reservation.state, now)
    if reservation.newly_locked:
        metrics.LOGIN_LOCKOUTS.inc()

    checked = _check(ctx, db, key, attempt.password, now)
    if checked.match is _Match.UNCONFIRMED:
        login_throttle.release(db, settings, key)
        return LoginResult(LoginOutcome.EMAIL_NOT_CONFIRMED, account_id=checked.creds.account_id if checked.creds else None)
    if checked.match is _Match.ONE_TIME and checked.creds is not None:
        if not _use_one_time(db, checked.creds, now):
            checked = _Checked(_Match.NONE)  # used or replaced by a concurrent request a moment ago
    if checked.match is _Match.NONE or checked.creds is None:
        return LoginResult(
            LoginOutcome.INVALID,
            captcha_required=reservation.state.failures >= settings.login_captcha_after_failures,
        )
    return _logged_in(ctx, db, key, checked, now)


def _locked(throttle: login_throttle.ThrottleState, now: datetime) -> LoginResult:
    return LoginResult(LoginOutcome.LOCKED, retry_after_seconds=throttle.locked_seconds(now), captcha_required=True)


def _one_time_during_lock(
    ctx: AppContext, db: Session, key: str, password: str, throttle: login_throttle.ThrottleState, now: datetime
) -> LoginResult:
    """During a lock only the mailed one-time password is checked, never the account's
    own: the lock must not become an oracle for it. One argon2 check either way (a dummy
    hash without a recovery), so the answer's timing does not tell a recovery is pending.
    The one-time password is long, random, single use and mailed to the owner, and every
    try here costs a solved captcha and counts against the per-address limits."""
    creds = credentials.for_login(db, key, now=now) if key else None
    otp_hash = creds.otp_hash if creds is not None else None
    matched = verify_or_dummy(ctx.settings, otp_hash, password)
    if not matched or creds is None or not _use_one_time(db, creds, now):
        return _locked(throttle, now)
    return _logged_in(ctx, db, key, _Checked(_Match.ONE_TIME, creds), now)


def _use_one_time(db: Session, creds: credentials.Credentials, now: datetime) -> bool:
    return credentials.use_one_time_password(db, creds.account_id, creds.otp_hash or "", now=now)


def _logged_in(ctx: AppContext, db: Session, key: str, checked: _Checked, now: datetime) -> LoginResult:
    assert checked.creds is not None
    account_id = checked.creds.account_id
    if checked.match is _Match.ONE_TIME:  # a completed recovery ends any lock
        login_throttle.clear(db, key)
    else:  # success takes back its own reservation
        login_throttle.release(db, ctx.settings, key)
    token = web_sessions.open_session(db, ctx.settings, account_id, now=now)
    if checked.match is _Match.ONE_TIME:
        log.info("account %s logged in with a recovery password; must set its own", account_id)
        return LoginResult(LoginOutcome.MUST_CHANGE_PASSWORD, session_token=token, account_id=account_id)
    log.info("account %s logged in", account_id)
    return LoginResult(LoginOutcome.SUCCESS, session_token=token)


def _check(ctx: AppContext, db: Session, key: str, password: str, now: datetime) -> _Checked:
    """The argon2 work (two verifications on every failure)."""
    settings = ctx.settings
    creds = credentials.for_login(db, key, now=now) if key else None
    if verify_or_dummy(settings, creds.password_hash if creds else None, password) and creds is not None:
        if not creds.confirmed:
            verify_or_dummy(settings, None, password)  # the second check every failure makes
            return _Checked(_Match.UNCONFIRMED, creds)
        if not creds.must_change_password:
            _rehash_if_needed(ctx, db, creds, password)
            return _Checked(_Match.PASSWORD, creds)
        # The mailed password was already used once: it opens nothing any more.
    if verify_or_dummy(settings, creds.otp_hash if creds else None, password) and creds is not None:
        return _Checked(_Match.ONE_TIME, creds)
    return _Checked(_Match.NONE)


def _rehash_if_needed(ctx: AppContext, db: Session, creds: credentials.Credentials, password: str) -> None:
    if needs_rehash(ctx.settings, creds.password_hash):
        new_hash = hash_password(ctx.settings, password)
        if credentials.rehash(db, creds.account_id, creds.password_hash, new_hash):
            log.info("account %s password re-hashed at the current argon2 parameters", creds.account_id)
