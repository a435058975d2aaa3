"""Password use cases: recovery request, change in the profile, the forced choice
after recovery, log out everywhere, and the durable "password changed" notice.

Recovery («Забыли пароль?»): the answer is the same whether or not login + e-mail
match (for a sign-up not confirmed yet, the confirmation link is sent again instead),
and so is the time: one argon2 hash is computed either way (it dwarfs the
look-up), and the response is padded to ``password_reset_min_response_ms`` so the
workflow start on a match does not show. A match signals-with-start the account's
``PasswordReset`` workflow with the account id only; nothing on the account
changes until the mailed password is used.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.deps import AppContext
from api.services import registration as registration_svc
from lkk import metrics, validation
from lkk.errors import PasswordRejected
from lkk.models import Account, PasswordChange
from lkk.security.passwords import hash_password, verify_password
from lkk.store import credentials, login_throttle, parked_starts, session_for, web_sessions
from lkk.temporal import password_changed_workflow_id, password_reset_workflow_id
from lkk.timeutil import utcnow
from workflows.messages import (
    OneTimePasswordUsed,
    PasswordChangedInput,
    PasswordChangeReason,
    PasswordResetInput,
    PasswordResetRequested,
)
from workflows.password_changed import PasswordChangedNoticeWorkflow
from workflows.password_reset import REQUEST_SIGNAL, PasswordResetWorkflow

log = logging.getLogger(__name__)

RESET_ANSWER = (
    "Если логин и адрес электронной почты указаны верно, на этот адрес придёт письмо с новым паролем. "
    "Ваш прежний пароль действует, пока вы не войдёте с новым."
)
PASSWORDS_DIFFER = validation.PASSWORDS_DIFFER
CURRENT_WRONG = "Неверный текущий пароль."
SAME_AS_CURRENT = "Новый пароль должен отличаться от текущего."
TOO_MANY_ATTEMPTS = "Слишком много неверных попыток. Повторите позже."
NOT_AFTER_RECOVERY = "Смена пароля без текущего пароля недоступна."
TEMPORAL_START_TIMEOUT = 5.0  # seconds; a slower start is logged, the answer stays the same


async def request_reset(ctx: AppContext, db: Session, login: str, email: str) -> None:
    """Always returns None after about the same time; the caller shows ``RESET_ANSWER``."""
    started = time.monotonic()
    match = await run_in_threadpool(_match_reset, ctx, db, login, email)
    if match is not None and not match.confirmed:
        # Not confirmed yet: the customer's way in is the confirmation link, so send it
        # again (the onboarding workflow's resend, with its cooldown and limit).
        try:
            outcome = await asyncio.wait_for(registration_svc.resend(ctx, match.account_id), TEMPORAL_START_TIMEOUT)
            log.info("recovery for unconfirmed sign-up %s: confirmation resend %s", match.account_id, outcome.outcome.value)
        except Exception:
            log.exception("could not resend the confirmation link of sign-up %s", match.account_id)
    elif match is not None:
        account_id = match.account_id
        try:
            await asyncio.wait_for(_signal_with_start_reset(ctx, account_id), TEMPORAL_START_TIMEOUT)
            log.info("password reset requested for account %s", account_id)
        except Exception as exc:
            # Same answer anyway (an error page would tell that the pair matched), and
            # the request is kept: it starts when Temporal answers again.
            log.warning("password reset for account %s parked until Temporal answers (%s)", account_id, type(exc).__name__)
            await run_in_threadpool(parked_starts.park, db, account_id, now=utcnow())
            metrics.PASSWORD_RESETS_PARKED.inc()
            if ctx.temporal_link is not None:
                ctx.temporal_link.nudge()
    floor = ctx.settings.password_reset_min_response_ms / 1000
    await asyncio.sleep(max(floor - (time.monotonic() - started), 0))


def _match_reset(ctx: AppContext, db: Session, login: str, email: str) -> credentials.ResetMatch | None:
    # One argon2 hash on every request, matched or not: the costly, variable part of
    # the work is the same for both, so the look-up does not stand out.
    hash_password(ctx.settings, secrets.token_urlsafe(12))
    login_key = validation.login_key(login)
    email_key = validation.email_key(email)
    if not login_key or not email_key:
        return None
    return credentials.find_for_reset(db, login_key, email_key, now=utcnow())


async def _signal_with_start_reset(ctx: AppContext, account_id: str) -> None:
    settings = ctx.settings
    client = _client(ctx)
    await client.start_workflow(
        PasswordResetWorkflow.run,
        PasswordResetInput(
            account_id=account_id,
            otp_ttl_seconds=settings.password_reset_ttl_seconds,
            resend_cooldown_seconds=settings.password_reset_resend_cooldown_seconds,
            max_emails=settings.password_reset_max_emails,
            mail_retry_seconds=settings.security_mail_retry_seconds,
        ),
        id=password_reset_workflow_id(account_id),
        task_queue=settings.temporal_task_queue,
        start_signal=REQUEST_SIGNAL,
        start_signal_args=[PasswordResetRequested(requested_at=utcnow())],
        static_summary="Восстановление пароля",
    )


async def deliver_parked(ctx: AppContext) -> int:
    """Start what was parked during an outage (the API's Temporal link calls this when
    Temporal is back). Several replicas may do it at once: a recovery start joins the
    account's running recovery (its cooldown keeps it to one e-mail), and a notice's
    workflow id comes from the nonce in its row, so a second start of it is refused."""
    with session_for(ctx.engine) as db:
        return await _deliver_parked(ctx, db)


async def _deliver_parked(ctx: AppContext, db: Session) -> int:
    delivered = 0
    for account_id in await run_in_threadpool(parked_starts.parked, db):
        await asyncio.wait_for(_signal_with_start_reset(ctx, account_id), TEMPORAL_START_TIMEOUT)
        await run_in_threadpool(parked_starts.started, db, account_id)
        log.info("parked password reset started for account %s", account_id)
        delivered += 1
    for notice in await run_in_threadpool(parked_starts.parked_notices, db):
        try:
            await asyncio.wait_for(
                _start_changed_notice(
                    ctx, notice.account_id, PasswordChangeReason(notice.reason), notice.changed_at, notice.nonce,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                ),
                TEMPORAL_START_TIMEOUT,
            )
        except WorkflowAlreadyStartedError:
            pass  # another replica started it first
        await run_in_threadpool(parked_starts.notice_started, db, notice.id)
        log.info("parked password-changed notice started for account %s", notice.account_id)
        delivered += 1
    return delivered


async def one_time_password_used(ctx: AppContext, db: Session, account_id: str, now: datetime) -> None:
    """After the swap in the database: end the recovery early and send the notice."""
    try:
        handle = _client(ctx).get_workflow_handle(password_reset_workflow_id(account_id))
        await handle.signal(PasswordResetWorkflow.used, OneTimePasswordUsed(used_at=now))
    except Exception:
        # Harmless: the recovery then ends at the password's expiry, finding nothing to clear.
        log.warning("could not tell the recovery of account %s that its password was used", account_id)
    await notify_password_changed(ctx, db, account_id, PasswordChangeReason.RECOVERY, now)


async def notify_password_changed(
    ctx: AppContext, db: Session, account_id: str, reason: PasswordChangeReason, changed_at: datetime
) -> None:
    """Start the durable notice; once started, SMTP trouble only delays it. While
    Temporal is down the notice is parked and started when it is back."""
    try:
        await asyncio.wait_for(
            _start_changed_notice(ctx, account_id, reason, changed_at, secrets.token_hex(8)), TEMPORAL_START_TIMEOUT
        )
    except Exception as exc:
        log.warning("password-changed notice for account %s parked until Temporal answers (%s)", account_id, type(exc).__name__)
        await run_in_threadpool(parked_starts.park_notice, db, account_id, reason.value, changed_at=changed_at)
        if ctx.temporal_link is not None:
            ctx.temporal_link.nudge()


async def _start_changed_notice(
    ctx: AppContext,
    account_id: str,
    reason: PasswordChangeReason,
    changed_at: datetime,
    nonce: str,
    id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
) -> None:
    await _client(ctx).start_workflow(
        PasswordChangedNoticeWorkflow.run,
        PasswordChangedInput(
            account_id=account_id,
            reason=reason,
            changed_at=changed_at,
            mail_retry_seconds=ctx.settings.security_mail_retry_seconds,
        ),
        id=password_changed_workflow_id(account_id, nonce),
        task_queue=ctx.settings.temporal_task_queue,
        static_summary="Уведомление «пароль изменён»",
        id_reuse_policy=id_reuse_policy,
    )


class _NoTemporal(Exception):
    pass


def _client(ctx: AppContext) -> Client:
    client = ctx.live_temporal()
    if client is None:
        raise _NoTemporal("Temporal is not connected")
    return client


@dataclass(frozen=True)
class PasswordChanged:
    """A new password is stored; every old session is gone; this is the new one."""

    session_token: str


def _check_new(ctx: AppContext, account: Account, new: str, confirm: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    try:
        validation.check_password(
            new,
            min_length=ctx.settings.password_min_length,
            max_length=ctx.settings.password_max_length,
            login=account.login,
        )
    except ValueError as err:
        errors["new_password"] = str(err)
    if "new_password" not in errors and new != confirm:
        errors["new_password_confirm"] = PASSWORDS_DIFFER
    return errors


async def change_password(ctx: AppContext, db: Session, account: Account, change: PasswordChange) -> PasswordChanged:
    """Profile: current password + the new one twice. Raises ``PasswordRejected``."""
    now = utcnow()
    token = await run_in_threadpool(_change, ctx, db, account, change, now)
    await notify_password_changed(ctx, db, account.id, PasswordChangeReason.PROFILE, now)
    log.info("account %s changed its password (%s)", account.id, PasswordChangeReason.PROFILE.value)
    return PasswordChanged(session_token=token)


def _change(ctx: AppContext, db: Session, account: Account, change: PasswordChange, now: datetime) -> str:
    """In a thread: the lockout count, the checks (argon2) and the new password."""
    key = validation.login_key(account.login)
    # Counted against the login's lockout before the check, so a stolen session is no
    # way round the lockout, not even with a burst (the session stands in for the captcha).
    reservation = login_throttle.reserve(db, ctx.settings, key, now=now, captcha_solved=True)
    if not reservation.granted:
        raise PasswordRejected({"current_password": TOO_MANY_ATTEMPTS})
    errors = _check_new(ctx, account, change.new_password, change.new_password_confirm)
    if not verify_password(ctx.settings, account.password_hash, change.current_password):
        errors = {"current_password": CURRENT_WRONG, **errors}
    else:
        login_throttle.release(db, ctx.settings, key)
        if not errors and change.new_password == change.current_password:
            errors["new_password"] = SAME_AS_CURRENT
    if errors:
        raise PasswordRejected(errors)
    return _store(ctx, db, account.id, change.new_password, now)


async def set_own_password(ctx: AppContext, db: Session, account: Account, change: PasswordChange) -> PasswordChanged:
    """After logging in with the mailed password: the customer's own, no current needed.
    No notice: the owner was told when the mailed password was used (that is when the
    old password stopped working): one recovery, one letter."""
    if not account.must_change_password:
        raise PasswordRejected({"form": NOT_AFTER_RECOVERY})
    errors = _check_new(ctx, account, change.new_password, change.new_password_confirm)
    if errors:
        raise PasswordRejected(errors)
    token = await run_in_threadpool(_set_own, ctx, db, account, change.new_password, utcnow())
    log.info("account %s changed its password (%s)", account.id, PasswordChangeReason.SET_AFTER_RECOVERY.value)
    return PasswordChanged(session_token=token)


def _set_own(ctx: AppContext, db: Session, account: Account, new: str, now: datetime) -> str:
    # The recovery is complete: no lock stays behind.
    login_throttle.clear(db, validation.login_key(account.login))
    return _store(ctx, db, account.id, new, now)


def _store(ctx: AppContext, db: Session, account_id: str, new: str, now: datetime) -> str:
    """The new hash; every session revoked; the new session's token."""
    new_hash = hash_password(ctx.settings, new)
    credentials.set_password(db, account_id, new_hash, now=now)
    return web_sessions.open_session(db, ctx.settings, account_id, now=now)


async def log_out_everywhere(ctx: AppContext, db: Session, account_id: str) -> None:
    await run_in_threadpool(web_sessions.close_all_sessions, db, account_id)
    log.info("account %s logged out everywhere", account_id)
