"""Sign-up use cases: register, resend the link, confirm the e-mail.

Order of registration, and why it is crash-safe:
1. validate the form and consume the captcha, in one round (the route's ``SignupCreate``
   body and ``api.captcha_view.checked_captcha``, before this module is called);
2. hash the password (argon2id) and reserve login + e-mail with a short claim (one DB
   transaction), in one thread hop;
3. start the onboarding workflow, whose first activity extends the claim.
A crash after 2 leaves a claim that lapses by itself; a failed start in 3 releases it.
Refusals are ``lkk.errors`` types (``SignupTaken``; ``ServiceUnavailable`` while Temporal
is down); ``api.errors`` says how each is answered.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from api import unavailable
from api.deps import AppContext
from lkk import metrics
from lkk.logging_setup import workflow_extra
from lkk.models import SignupCreate
from lkk.security.passwords import hash_password
from lkk.settings import Settings
from lkk.store import signups, web_sessions
from lkk.temporal import onboarding_workflow_id
from lkk.timeutil import utcnow
from workflows.errors import AlreadyConfirmed, ResendCooldown, ResendLimit
from workflows.messages import (
    EmailConfirmed,
    OnboardingInput,
    OnboardingStage,
    OnboardingState,
    ResendAccepted,
    ResendRequest,
    SignupSuperseded,
)
from workflows.onboarding import OnboardingWorkflow
from workflows.search_attributes import LKK_LOGIN, LKK_STAGE

log = logging.getLogger(__name__)

# What the «Проверьте почту» page and the status API say when a sign-up ended early.
UNDELIVERABLE_NOTICE = (
    "Письмо со ссылкой подтверждения не удалось доставить на указанный адрес электронной почты: "
    "почтовый сервер получателя его не принимает. Регистрация отменена, логин и адрес снова свободны. "
    "Проверьте адрес и зарегистрируйтесь заново."
)
SUPERSEDED_NOTICE = (
    "Этот адрес электронной почты уже подтверждён в другой регистрации, поэтому эта регистрация отменена. "
    "Если адрес ваш, войдите в личный кабинет или восстановите пароль; иначе зарегистрируйтесь со своим адресом."
)
SERVICE_UNAVAILABLE = unavailable.MESSAGE
ServiceUnavailable = unavailable.ServiceUnavailable  # Temporal could not be reached; nothing was kept


@dataclass(frozen=True)
class Registered:
    account_id: str
    handle: str  # signed id of the sign-up, for the "check your mail" page and resend


def signup_ttl(settings: Settings) -> int:
    """This sign-up's lifetime: the configured TTL plus a random 0..jitter seconds, drawn
    here and passed in the workflow's input (a workflow must stay deterministic), so a
    burst of sign-ups does not expire in one wave."""
    return settings.signup_ttl_seconds + secrets.randbelow(settings.signup_expiry_jitter_seconds + 1)


def longest_signup_ttl(settings: Settings) -> int:
    """How long any sign-up may live: what its handle and cookie must outlast."""
    return settings.signup_ttl_seconds + settings.signup_expiry_jitter_seconds


def _handles(ctx: AppContext) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(ctx.settings.secret_key, salt="lkk-signup")


def handle_for(ctx: AppContext, account_id: str) -> str:
    """The signed handle of a sign-up (for the "check your mail" page and resend)."""
    return _handles(ctx).dumps(account_id)


def read_handle(ctx: AppContext, handle: str) -> str | None:
    try:
        return str(_handles(ctx).loads(handle, max_age=longest_signup_ttl(ctx.settings)))
    except BadSignature:
        return None


async def register(ctx: AppContext, db: Session, signup: SignupCreate) -> Registered:
    """Register a sign-up whose form (captcha included) was checked. Raises
    ``SignupTaken`` or ``ServiceUnavailable``."""
    settings = ctx.settings
    _client(ctx)  # Temporal down: refuse before the login and e-mail are claimed
    now = utcnow()
    account_id = await run_in_threadpool(_reserve, ctx, db, signup, now)
    if settings.fault_pause_after_reserve_seconds:  # test-only fault hook, refused in production
        await asyncio.sleep(settings.fault_pause_after_reserve_seconds)
    try:
        await _start_onboarding(ctx, account_id, signup.login)
    except Exception:
        log.exception(
            "could not start onboarding for sign-up %s; releasing it",
            account_id,
            extra=workflow_extra(onboarding_workflow_id(account_id)),
        )
        await run_in_threadpool(signups.release, db, account_id)
        raise ServiceUnavailable() from None
    metrics.SIGNUPS_STARTED.inc()
    log.info("sign-up %s started", account_id, extra=workflow_extra(onboarding_workflow_id(account_id)))
    return Registered(account_id=account_id, handle=handle_for(ctx, account_id))


def _reserve(ctx: AppContext, db: Session, signup: SignupCreate, now: datetime) -> str:
    """In a thread: the argon2 hash (CPU-bound), then the claim of login and e-mail."""
    password_hash = hash_password(ctx.settings, signup.password)
    claim_until = now + timedelta(seconds=ctx.settings.signup_claim_seconds)
    return signups.reserve(db, signup, password_hash, now=now, claim_until=claim_until)


async def _start_onboarding(ctx: AppContext, account_id: str, login: str) -> None:
    client = _client(ctx)
    settings = ctx.settings
    await client.start_workflow(
        OnboardingWorkflow.run,
        OnboardingInput(
            account_id=account_id,
            login=login,
            signup_ttl_seconds=signup_ttl(settings),
            resend_cooldown_seconds=settings.resend_cooldown_seconds,
            max_resends=settings.max_resends,
            binding_reminder_seconds=settings.binding_reminder_seconds,
            binding_wait_seconds=settings.binding_wait_seconds,
        ),
        id=onboarding_workflow_id(account_id),
        task_queue=settings.temporal_task_queue,
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(LKK_LOGIN, login), SearchAttributePair(LKK_STAGE, OnboardingStage.AWAITING_EMAIL.value)]
        ),
        static_summary=f"Подключение клиента {login}",
    )


def _client(ctx: AppContext) -> Client:
    client = ctx.live_temporal()
    if client is None:
        raise ServiceUnavailable()
    return client


class ResendOutcome(StrEnum):
    SENT = "sent"
    COOLDOWN = "cooldown"
    LIMIT = "limit"
    ALREADY_CONFIRMED = "already_confirmed"
    GONE = "gone"


@dataclass(frozen=True)
class ResendResult:
    outcome: ResendOutcome
    retry_after_seconds: int = 0
    resends_left: int = 0


async def resend(ctx: AppContext, account_id: str) -> ResendResult:
    handle = _client(ctx).get_workflow_handle(onboarding_workflow_id(account_id))
    try:
        accepted: ResendAccepted = await handle.execute_update(OnboardingWorkflow.request_resend, ResendRequest())
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if ResendCooldown.matches(cause):
            seconds = ResendCooldown.retry_after_seconds(cause)
            return ResendResult(ResendOutcome.COOLDOWN, retry_after_seconds=seconds)
        if ResendLimit.matches(cause):
            return ResendResult(ResendOutcome.LIMIT)
        if AlreadyConfirmed.matches(cause):
            return ResendResult(ResendOutcome.ALREADY_CONFIRMED)
        raise
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            return ResendResult(ResendOutcome.GONE)
        raise ServiceUnavailable() from err
    return ResendResult(ResendOutcome.SENT, resends_left=accepted.resends_left)


def ended_notice(state: OnboardingState | None) -> str | None:
    """The customer's explanation of a sign-up that ended early, or None."""
    if state is None:
        return None
    return {OnboardingStage.UNDELIVERABLE: UNDELIVERABLE_NOTICE, OnboardingStage.SUPERSEDED: SUPERSEDED_NOTICE}.get(
        state.stage
    )


async def signup_state(ctx: AppContext, account_id: str) -> OnboardingState | None:
    """None when the sign-up is unknown; ``ServiceUnavailable`` while Temporal is down
    (then nobody knows: the pages must not say "not found")."""
    handle = _client(ctx).get_workflow_handle(onboarding_workflow_id(account_id))
    try:
        return await handle.query(OnboardingWorkflow.state)
    except RPCError as err:
        if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            raise ServiceUnavailable() from err
        return None


@dataclass(frozen=True)
class Confirmation:
    outcome: signups.ConfirmOutcome
    session_token: str | None = None


async def confirm(ctx: AppContext, db: Session, token: str) -> Confirmation:
    """Activate the account, log the customer in, and tell the workflow(s)."""
    now = utcnow()
    result, session_token = await run_in_threadpool(_confirm, ctx, db, token, now)
    for account_id in result.superseded:  # already deleted; their workflows end now
        await _signal_superseded(ctx, account_id, now)
    if result.outcome is not signups.ConfirmOutcome.CONFIRMED or result.account_id is None:
        return Confirmation(result.outcome)
    await _signal_confirmed(ctx, result.account_id, now)
    metrics.SIGNUPS_CONFIRMED.inc()
    log.info("sign-up %s confirmed", result.account_id, extra=workflow_extra(onboarding_workflow_id(result.account_id)))
    return Confirmation(result.outcome, session_token=session_token)


def _confirm(ctx: AppContext, db: Session, token: str, now: datetime) -> tuple[signups.ConfirmResult, str | None]:
    """In a thread: the activation, and the new login session when it succeeded."""
    result = signups.confirm(db, token, now=now)
    if result.outcome is not signups.ConfirmOutcome.CONFIRMED or result.account_id is None:
        return result, None
    return result, web_sessions.open_session(db, ctx.settings, result.account_id, now=now)


async def _signal_confirmed(ctx: AppContext, account_id: str, now: datetime) -> None:
    # The account is already active in the database. If the signal is lost, the
    # workflow learns it at its expiry check (the account is found active), and a
    # contract binding also counts as confirmation; so a failure here is logged, not shown.
    try:
        handle = _client(ctx).get_workflow_handle(onboarding_workflow_id(account_id))
        await handle.signal(OnboardingWorkflow.email_confirmed, EmailConfirmed(confirmed_at=now))
    except Exception:
        log.exception(
            "could not signal confirmation of sign-up %s",
            account_id,
            extra=workflow_extra(onboarding_workflow_id(account_id)),
        )


async def _signal_superseded(ctx: AppContext, account_id: str, now: datetime) -> None:
    # The sign-up is already deleted in the database. If this signal is lost, its
    # workflow still ends at its expiry (it finds nothing left to delete).
    try:
        handle = _client(ctx).get_workflow_handle(onboarding_workflow_id(account_id))
        await handle.signal(OnboardingWorkflow.signup_superseded, SignupSuperseded(superseded_at=now))
        log.info("sign-up %s superseded", account_id, extra=workflow_extra(onboarding_workflow_id(account_id)))
    except Exception:
        log.exception(
            "could not signal that sign-up %s was superseded",
            account_id,
            extra=workflow_extra(onboarding_workflow_id(account_id)),
        )
