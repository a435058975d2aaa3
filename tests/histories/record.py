"""(Re)record the workflow histories that the determinism guard replays.

    .venv/bin/python -m tests.histories.record            # every workflow, version UNRELEASED
    .venv/bin/python -m tests.histories.record --workflow Onboarding

Each scenario drives the real code (service layer, real activities, SQLite, SMTP into
the dev sink) on Temporal's time-skipping test server, then writes the run's history
to ``tests/histories/<workflow type>/<version>/<scenario>.json``.

Versions: ``UNRELEASED`` is the directory this command rewrites. Before a release,
re-record it from the code being released; after the release, bump ``UNRELEASED``
(v1 → v2) so the released directory is frozen and keeps being replayed against all
later code (docs/ops.md, "Changing a workflow").

A new workflow adds its scenarios to ``SCENARIOS``; tests/test_determinism.py fails
while a registered workflow has no recorded history. Each scenario gets its own
database (the sample billing registry loaded where it binds) and names the values it
handled that must stay out of history (codes, one-time passwords, tokens, hashes,
e-mails); a history holding one of them, an e-mail address or an argon2 hash is not
written.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, Interceptor, OutboundInterceptor, StartWorkflowInput, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.deps import AppContext
from api.ratelimit import RateLimiter
from api.services import login as login_svc
from api.services import passwords
from api.services import registration as svc
from lkk.db import create_schema, make_engine, session_scope
from lkk.models import Account, LoginThrottle, PasswordChange
from lkk.settings import Settings
from lkk.store import session_for, signups
from lkk.temporal import onboarding_workflow_id, password_reset_workflow_id, register_search_attributes
from lkk.timeutil import utcnow
from tests import binding_harness as binding
from tests.binding_harness import OPEN_ENTREPRENEUR, OPEN_LEGAL, account_by_login, issue, load_registry
from tests.conftest import ROOT, free_port, stop_process, tool, wait_http
from tests.harness import (
    PASSWORD,
    confirm,
    confirmation_token,
    context,
    history_text,
    running_worker,
    sign_up,
    token_from,
    unique_login,
)
from tests.invitation_harness import create_invitation, invitation_letters, invite
from tests.mailbox import Mailbox
from workflows.invitation import InvitationWorkflow
from workflows.maintenance import PurgeStaleCountersWorkflow
from workflows.messages import (
    AcceptInvitationRequest,
    BindStatus,
    InvitationResult,
    InvitationStage,
    OnboardingStage,
    OnboardingState,
    PurgeInput,
    ResendInvitationRequest,
    RevokeInvitationRequest,
)
from workflows.onboarding import OnboardingWorkflow

HISTORIES = Path(__file__).resolve().parent
UNRELEASED = "v2"
EMAIL_DOMAIN = "example.ru"  # every recorded customer's address is <login>@example.ru
# What must never be in a recorded history (tests/test_determinism.py checks the files too).
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
ARGON2_MARK = "$argon2"

NEW_PASSWORD = "летний-рассвет-2027"
WRONG_CODE = "ABCD-EFGH"
REMINDER_SUBJECT = "Привяжите договор"
RESET_SUBJECT = "Восстановление пароля"
_OTP = re.compile(r"Ваш новый пароль для входа: (\S+)")
CLIENT_IP = "203.0.113.10"


class _StartedRuns(Interceptor):
    """Notes the id of every run the service layer starts: ids of short workflows
    (ContractBinding, PasswordChangedNotice) are random and made inside the API."""

    def __init__(self) -> None:
        self.ids: dict[str, list[str]] = defaultdict(list)

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _StartedRunsOutbound(next, self)


class _StartedRunsOutbound(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, started: _StartedRuns) -> None:
        super().__init__(next)
        self._started = started

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        self._started.ids[input.workflow].append(input.id)
        return await super().start_workflow(input)


@dataclass
class Rig:
    env: WorkflowEnvironment
    ctx: AppContext
    mailbox: Mailbox
    started: _StartedRuns
    secrets: list[str] = field(default_factory=list)  # values the history must not contain

    @property
    def client(self) -> Client:
        return self.env.client

    def keep_out(self, *values: str | None) -> None:
        self.secrets.extend(v for v in values if v)

    def last_started(self, workflow_type: str) -> str:
        ids = self.started.ids[workflow_type]
        assert ids, f"no {workflow_type} run was started"
        return ids[-1]


Scenario = Callable[[Rig], Awaitable[str]]  # returns the workflow id of the run to record


def with_settings(**overrides: object) -> Callable[[Scenario], Scenario]:
    """Settings this scenario's worker and API use instead of the recorder's."""

    def mark(scenario: Scenario) -> Scenario:
        scenario.settings_overrides = overrides  # type: ignore[attr-defined]
        return scenario

    return mark


# --- building blocks (the service layer the API uses) --------------------------------


@dataclass(frozen=True)
class Customer:
    login: str
    email: str
    account_id: str

    @property
    def onboarding_id(self) -> str:
        return onboarding_workflow_id(self.account_id)


async def signed_up(rig: Rig, prefix: str = "rec") -> tuple[Customer, str]:
    """A sign-up whose confirmation e-mail arrived; returns the customer and the link token."""
    login = unique_login(prefix)
    email = f"{login}@{EMAIL_DOMAIN}"
    registered = await sign_up(rig.ctx, login)
    token = await confirmation_token(rig.mailbox, email)
    rig.keep_out(email, token, PASSWORD)
    return Customer(login, email, registered.account_id), token


async def confirmed(rig: Rig, prefix: str = "rec") -> Customer:
    customer, token = await signed_up(rig, prefix)
    outcome = await confirm(rig.ctx, token)
    assert outcome.outcome is signups.ConfirmOutcome.CONFIRMED, outcome
    rig.keep_out(outcome.session_token)
    return customer


def account(rig: Rig, customer: Customer) -> Account:
    found = account_by_login(rig.ctx.engine, customer.login)
    rig.keep_out(found.password_hash)
    return found


def registry_code(rig: Rig, number: str) -> str:
    """A binding code the supplier's office issued for ``number`` (sample registry)."""
    code = issue(rig.ctx.engine, number)
    rig.keep_out(code, code.replace("-", ""))
    return code


async def bind(rig: Rig, customer: Customer, contract: tuple[str, str, str | None], code: str) -> BindStatus:
    number, inn, kpp = contract
    return (await binding.bind(rig.ctx, account(rig, customer), number, inn, kpp, code)).status


async def onboarding_state(rig: Rig, customer: Customer) -> OnboardingState:
    handle = rig.client.get_workflow_handle(customer.onboarding_id)
    return await handle.query(OnboardingWorkflow.state)


async def until_stage(rig: Rig, customer: Customer, stage: OnboardingStage, timeout: float = 30.0) -> None:
    """After skipped time the worker may still be running the timer's activity."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (state := await onboarding_state(rig, customer)).stage is not stage:
        assert asyncio.get_running_loop().time() < deadline, (stage, state)
        await asyncio.sleep(0.1)


async def onboarding_over(rig: Rig, customer: Customer, expected: OnboardingStage) -> None:
    result = await rig.client.get_workflow_handle_for(OnboardingWorkflow.run, customer.onboarding_id).result()
    assert result.stage is expected, result


async def log_in(rig: Rig, customer: Customer, password: str) -> login_svc.LoginResult:
    result = await login_svc.login(rig.ctx, session_for(rig.ctx.engine), RateLimiter(rig.ctx.settings), CLIENT_IP, customer.login, password)
    rig.keep_out(result.session_token)
    return result


async def reset_mails(rig: Rig, customer: Customer, count: int) -> list[str]:
    """The one-time passwords of the first ``count`` recovery e-mails, oldest first."""
    mails = await rig.mailbox.wait_for_all_async(to=customer.email, subject_contains=RESET_SUBJECT, count=count, timeout=30)
    otps = []
    for mail in mails:
        found = _OTP.search(str(mail["Text"]))
        assert found, "the recovery e-mail carries the one-time password"
        otps.append(found.group(1))
    rig.keep_out(*otps)
    return otps


def skip_days(days: float) -> timedelta:
    return timedelta(days=days, minutes=1)


# --- Onboarding ------------------------------------------------------------------------


async def onboarding_expired(rig: Rig) -> str:
    customer, _token = await signed_up(rig)
    await rig.env.sleep(timedelta(seconds=rig.ctx.settings.signup_ttl_seconds + 60))
    return customer.onboarding_id


async def onboarding_confirmed_then_bound(rig: Rig) -> str:
    load_registry(rig.ctx.engine)
    code = registry_code(rig, OPEN_LEGAL[0])
    customer = await confirmed(rig)
    assert await bind(rig, customer, OPEN_LEGAL, code) is BindStatus.BOUND
    return customer.onboarding_id


async def onboarding_resent_confirmed_reminded_then_bound(rig: Rig) -> str:
    load_registry(rig.ctx.engine)
    code = registry_code(rig, OPEN_LEGAL[0])
    customer, _first = await signed_up(rig)
    await rig.env.sleep(timedelta(seconds=rig.ctx.settings.resend_cooldown_seconds + 1))
    outcome = await svc.resend(rig.ctx, customer.account_id)
    assert outcome.outcome is svc.ResendOutcome.SENT, outcome
    token = await confirmation_token(rig.mailbox, customer.email, count=2)
    rig.keep_out(token)
    assert (await confirm(rig.ctx, token)).outcome is signups.ConfirmOutcome.CONFIRMED
    await rig.env.sleep(timedelta(seconds=rig.ctx.settings.binding_reminder_seconds) + timedelta(minutes=1))
    await rig.mailbox.wait_for_async(to=customer.email, subject_contains=REMINDER_SUBJECT, timeout=30)
    await rig.env.sleep(timedelta(days=3))  # the customer comes back some days later
    assert await bind(rig, customer, OPEN_LEGAL, code) is BindStatus.BOUND
    return customer.onboarding_id


async def onboarding_signal_lost_bind_confirms(rig: Rig) -> str:
    load_registry(rig.ctx.engine)
    code = registry_code(rig, OPEN_ENTREPRENEUR[0])
    customer, token = await signed_up(rig)
    signups.confirm(session_for(rig.ctx.engine), token, now=utcnow())  # the DB side only; the signal is "lost"
    assert await bind(rig, customer, OPEN_ENTREPRENEUR, code) is BindStatus.BOUND
    return customer.onboarding_id


async def onboarding_signal_lost_expiry_finds_active_then_bound(rig: Rig) -> str:
    load_registry(rig.ctx.engine)
    code = registry_code(rig, OPEN_LEGAL[0])
    customer, token = await signed_up(rig)
    signups.confirm(session_for(rig.ctx.engine), token, now=utcnow())  # the DB side only; the signal is "lost"
    await rig.env.sleep(timedelta(seconds=rig.ctx.settings.signup_ttl_seconds + 60))
    await until_stage(rig, customer, OnboardingStage.AWAITING_CONTRACT)
    assert await bind(rig, customer, OPEN_LEGAL, code) is BindStatus.BOUND
    return customer.onboarding_id


async def onboarding_confirmed_no_contract(rig: Rig) -> str:
    customer = await confirmed(rig)
    await rig.env.sleep(timedelta(seconds=rig.ctx.settings.binding_wait_seconds) + timedelta(minutes=1))
    return customer.onboarding_id


async def onboarding_wrong_code_then_bound(rig: Rig) -> str:
    load_registry(rig.ctx.engine)
    code = registry_code(rig, OPEN_LEGAL[0])
    customer = await confirmed(rig)
    assert await bind(rig, customer, OPEN_LEGAL, WRONG_CODE) is BindStatus.WRONG_DATA
    assert (await onboarding_state(rig, customer)).stage is OnboardingStage.AWAITING_CONTRACT
    assert await bind(rig, customer, OPEN_LEGAL, code) is BindStatus.BOUND
    return customer.onboarding_id


async def onboarding_superseded(rig: Rig) -> str:
    """Somebody signs up with the owner's address; the owner signs up too and confirms first."""
    squatter, owner = unique_login("squat"), unique_login("owner")
    address = f"{owner}@{EMAIL_DOMAIN}"
    squatted = await sign_up(rig.ctx, squatter, email=address)
    await sign_up(rig.ctx, owner, email=address)
    mails = await rig.mailbox.wait_for_all_async(to=address, count=2, timeout=30)
    [owners_mail] = [m for m in mails if owner in str(m["Text"])]
    token = token_from(owners_mail)
    rig.keep_out(address, token, PASSWORD)
    outcome = await confirm(rig.ctx, token)
    assert outcome.outcome is signups.ConfirmOutcome.CONFIRMED, outcome
    rig.keep_out(outcome.session_token)
    customer = Customer(squatter, address, squatted.account_id)
    await onboarding_over(rig, customer, OnboardingStage.SUPERSEDED)
    return customer.onboarding_id


async def onboarding_undeliverable(rig: Rig) -> str:
    """The receiving server refuses the confirmation e-mail for good (550)."""
    login = unique_login("rec")
    rig.keep_out(f"{login}@{EMAIL_DOMAIN}", PASSWORD)
    rig.mailbox.set_smtp_mode("reject")
    try:
        registered = await sign_up(rig.ctx, login)
        customer = Customer(login, f"{login}@{EMAIL_DOMAIN}", registered.account_id)
        await onboarding_over(rig, customer, OnboardingStage.UNDELIVERABLE)
    finally:
        rig.mailbox.set_smtp_mode("accept")
    return customer.onboarding_id


# --- ContractBinding (after onboarding is over) ------------------------------------------


async def binding_after_no_contract(rig: Rig) -> str:
    load_registry(rig.ctx.engine)
    code = registry_code(rig, OPEN_LEGAL[0])
    customer = await confirmed(rig)
    await rig.env.sleep(timedelta(seconds=rig.ctx.settings.binding_wait_seconds) + timedelta(minutes=1))
    await onboarding_over(rig, customer, OnboardingStage.NO_CONTRACT)
    assert await bind(rig, customer, OPEN_LEGAL, code) is BindStatus.BOUND
    return rig.last_started("ContractBinding")


async def binding_second_contract(rig: Rig) -> str:
    load_registry(rig.ctx.engine)
    first, second = registry_code(rig, OPEN_LEGAL[0]), registry_code(rig, OPEN_ENTREPRENEUR[0])
    customer = await confirmed(rig)
    assert await bind(rig, customer, OPEN_LEGAL, first) is BindStatus.BOUND
    await onboarding_over(rig, customer, OnboardingStage.ONBOARDED)
    assert await bind(rig, customer, OPEN_ENTREPRENEUR, second) is BindStatus.BOUND
    return rig.last_started("ContractBinding")


async def binding_wrong_code(rig: Rig) -> str:
    load_registry(rig.ctx.engine)
    first = registry_code(rig, OPEN_LEGAL[0])
    registry_code(rig, OPEN_ENTREPRENEUR[0])  # issued, but the customer mistypes it
    customer = await confirmed(rig)
    assert await bind(rig, customer, OPEN_LEGAL, first) is BindStatus.BOUND
    await onboarding_over(rig, customer, OnboardingStage.ONBOARDED)
    assert await bind(rig, customer, OPEN_ENTREPRENEUR, WRONG_CODE) is BindStatus.WRONG_DATA
    return rig.last_started("ContractBinding")


# --- ContractUnbinding -----------------------------------------------------------------


async def unbinding_unbound(rig: Rig) -> str:
    load_registry(rig.ctx.engine)
    code = registry_code(rig, OPEN_LEGAL[0])
    customer = await confirmed(rig)
    assert await bind(rig, customer, OPEN_LEGAL, code) is BindStatus.BOUND
    assert await binding.unbind(rig.ctx, account(rig, customer), OPEN_LEGAL[0])
    return rig.last_started("ContractUnbinding")


async def unbinding_not_held(rig: Rig) -> str:
    load_registry(rig.ctx.engine)
    customer = await confirmed(rig)
    assert not await binding.unbind(rig.ctx, account(rig, customer), OPEN_LEGAL[0])
    return rig.last_started("ContractUnbinding")


async def unbinding_withdraws_invitation(rig: Rig) -> str:
    """The contract had a pending invitation (with its run) and one whose run never started."""
    admin = await administrator(rig)
    invited = await invited_by(rig, admin, "wd")
    orphan = f"orphan-{admin.login}@{EMAIL_DOMAIN}"
    rig.keep_out(orphan)
    create_invitation(rig.ctx.engine, rig.ctx.settings, admin.account_id, admin.login, orphan, [OPEN_LEGAL[0]])
    assert await binding.unbind(rig.ctx, account(rig, admin), OPEN_LEGAL[0])
    await invitation_over(rig, invited, InvitationStage.REVOKED)
    return rig.last_started("ContractUnbinding")


# --- Invitation --------------------------------------------------------------------------


async def administrator(rig: Rig) -> Customer:
    """A cabinet that bound the sample registry's OPEN_LEGAL contract (its administrator)."""
    load_registry(rig.ctx.engine)
    code = registry_code(rig, OPEN_LEGAL[0])
    admin = await confirmed(rig, "admin")
    assert await bind(rig, admin, OPEN_LEGAL, code) is BindStatus.BOUND
    return admin


async def invited_by(rig: Rig, admin: Customer, prefix: str, email: str | None = None) -> str:
    """An invitation of ``email`` (a fresh address by default) as the API makes it; returns its run's id."""
    address = email or f"{unique_login(prefix)}@{EMAIL_DOMAIN}"
    rig.keep_out(address)
    handle = await invite(
        rig.client, rig.ctx.engine, rig.ctx.settings, admin.account_id, admin.login, address, [OPEN_LEGAL[0]],
        full_name="Иванова Мария Петровна",
    )
    rig.keep_out("Иванова")
    return handle.id


async def invitation_token(rig: Rig, email: str, count: int = 1) -> str:
    letters = await invitation_letters(rig.mailbox, email, count)
    token = token_from(letters[-1])
    rig.keep_out(token)
    return token


async def invitation_over(rig: Rig, workflow_id: str, expected: InvitationStage) -> None:
    handle = rig.client.get_workflow_handle(workflow_id, result_type=InvitationResult)
    result = await handle.result()
    assert result.stage is expected, result


def accept_as(customer: Customer) -> AcceptInvitationRequest:
    return AcceptInvitationRequest(account_id=customer.account_id, login=customer.login)


async def invitation_accepted(rig: Rig) -> str:
    admin = await administrator(rig)
    colleague = await confirmed(rig, "buh")
    workflow_id = await invited_by(rig, admin, "buh", colleague.email)
    await invitation_token(rig, colleague.email)
    handle = rig.client.get_workflow_handle(workflow_id)
    assert (await handle.execute_update(InvitationWorkflow.accept, accept_as(colleague))).accepted
    await invitation_over(rig, workflow_id, InvitationStage.ACCEPTED)
    return workflow_id


async def invitation_resent_then_accepted(rig: Rig) -> str:
    admin = await administrator(rig)
    colleague = await confirmed(rig, "buh")
    workflow_id = await invited_by(rig, admin, "buh", colleague.email)
    await invitation_token(rig, colleague.email)
    await rig.env.sleep(timedelta(seconds=rig.ctx.settings.invitation_resend_cooldown_seconds + 1))
    handle = rig.client.get_workflow_handle(workflow_id)
    resend = ResendInvitationRequest(actor_account_id=admin.account_id, actor_login=admin.login)
    await handle.execute_update(InvitationWorkflow.resend, resend)
    await invitation_token(rig, colleague.email, count=2)
    assert (await handle.execute_update(InvitationWorkflow.accept, accept_as(colleague))).accepted
    await invitation_over(rig, workflow_id, InvitationStage.ACCEPTED)
    return workflow_id


async def invitation_revoked(rig: Rig) -> str:
    admin = await administrator(rig)
    workflow_id = await invited_by(rig, admin, "rv")
    handle = rig.client.get_workflow_handle(workflow_id)
    revoke = RevokeInvitationRequest(actor_account_id=admin.account_id, actor_login=admin.login)
    assert (await handle.execute_update(InvitationWorkflow.revoke, revoke)).revoked
    await invitation_over(rig, workflow_id, InvitationStage.REVOKED)
    return workflow_id


async def invitation_expired(rig: Rig) -> str:
    admin = await administrator(rig)
    workflow_id = await invited_by(rig, admin, "exp")
    await rig.env.sleep(timedelta(seconds=rig.ctx.settings.invitation_ttl_seconds + 60))
    await invitation_over(rig, workflow_id, InvitationStage.EXPIRED)
    return workflow_id


async def invitation_withdrawn(rig: Rig) -> str:
    admin = await administrator(rig)
    workflow_id = await invited_by(rig, admin, "wd")
    assert await binding.unbind(rig.ctx, account(rig, admin), OPEN_LEGAL[0])
    await invitation_over(rig, workflow_id, InvitationStage.REVOKED)
    return workflow_id


async def invitation_undeliverable(rig: Rig) -> str:
    """The receiving server refuses the letter for good (550)."""
    admin = await administrator(rig)
    rig.mailbox.set_smtp_mode("reject")
    try:
        workflow_id = await invited_by(rig, admin, "nobody")
        await invitation_over(rig, workflow_id, InvitationStage.UNDELIVERABLE)
    finally:
        rig.mailbox.set_smtp_mode("accept")
    return workflow_id


# --- PasswordReset -----------------------------------------------------------------------


async def reset_used(rig: Rig) -> str:
    customer = await confirmed(rig)
    await passwords.request_reset(rig.ctx, session_for(rig.ctx.engine), customer.login, customer.email)
    [otp] = await reset_mails(rig, customer, 1)
    assert (await log_in(rig, customer, otp)).outcome is login_svc.LoginOutcome.MUST_CHANGE_PASSWORD
    account(rig, customer)  # the swapped-in hash must not be in the history either
    return password_reset_workflow_id(customer.account_id)


@with_settings(password_reset_ttl_seconds=2)
async def reset_expired_unused(rig: Rig) -> str:
    customer = await confirmed(rig)
    await passwords.request_reset(rig.ctx, session_for(rig.ctx.engine), customer.login, customer.email)
    await reset_mails(rig, customer, 1)
    await asyncio.sleep(2.5)  # real time: the activity clears it only when the clock says it expired
    await rig.env.sleep(timedelta(minutes=1))
    return password_reset_workflow_id(customer.account_id)


async def reset_repeated_requests_then_used(rig: Rig) -> str:
    customer = await confirmed(rig)
    for _ in range(3):  # impatient: the later two fall in the cooldown and send nothing
        await passwords.request_reset(rig.ctx, session_for(rig.ctx.engine), customer.login, customer.email)
    await reset_mails(rig, customer, 1)
    await rig.env.sleep(timedelta(seconds=rig.ctx.settings.password_reset_resend_cooldown_seconds + 1))
    await passwords.request_reset(rig.ctx, session_for(rig.ctx.engine), customer.login, customer.email)
    otps = await reset_mails(rig, customer, 2)
    assert (await log_in(rig, customer, otps[-1])).outcome is login_svc.LoginOutcome.MUST_CHANGE_PASSWORD
    account(rig, customer)
    return password_reset_workflow_id(customer.account_id)


# --- PurgeStaleCounters ------------------------------------------------------------------


async def purge_stale_counters(rig: Rig) -> str:
    """One run as the schedule starts it, with a stale login-throttle row to delete."""
    with session_scope(rig.ctx.engine) as session:
        session.add(LoginThrottle(key_hash="0" * 64, failures=4, last_failure_at=utcnow() - timedelta(days=2)))
    workflow_id = f"lkk-purge-stale-counters-{rig.ctx.settings.temporal_task_queue}"
    handle = await rig.client.start_workflow(
        PurgeStaleCountersWorkflow.run, PurgeInput(), id=workflow_id, task_queue=rig.ctx.settings.temporal_task_queue
    )
    assert (await handle.result()).login_throttles == 1
    return workflow_id


# --- PasswordChangedNotice ---------------------------------------------------------------


async def notice_profile_change(rig: Rig) -> str:
    customer = await confirmed(rig)
    change = PasswordChange(current_password=PASSWORD, new_password=NEW_PASSWORD, new_password_confirm=NEW_PASSWORD)
    changed = await passwords.change_password(rig.ctx, session_for(rig.ctx.engine), account(rig, customer), change)
    rig.keep_out(NEW_PASSWORD, changed.session_token)
    account(rig, customer)
    return rig.last_started("PasswordChangedNotice")


SCENARIOS: dict[str, dict[str, Scenario]] = {
    "Onboarding": {
        "expired": onboarding_expired,
        "confirmed_then_bound": onboarding_confirmed_then_bound,
        "resent_confirmed_reminded_then_bound": onboarding_resent_confirmed_reminded_then_bound,
        "signal_lost_bind_confirms": onboarding_signal_lost_bind_confirms,
        "signal_lost_expiry_finds_active_then_bound": onboarding_signal_lost_expiry_finds_active_then_bound,
        "confirmed_no_contract": onboarding_confirmed_no_contract,
        "wrong_code_then_bound": onboarding_wrong_code_then_bound,
        "superseded": onboarding_superseded,
        "undeliverable": onboarding_undeliverable,
    },
    "ContractBinding": {
        "bound_after_no_contract": binding_after_no_contract,
        "second_contract_bound": binding_second_contract,
        "wrong_code": binding_wrong_code,
    },
    "ContractUnbinding": {
        "unbound": unbinding_unbound,
        "not_held": unbinding_not_held,
        "withdraws_invitation": unbinding_withdraws_invitation,
    },
    "Invitation": {
        "accepted": invitation_accepted,
        "resent_then_accepted": invitation_resent_then_accepted,
        "revoked": invitation_revoked,
        "expired": invitation_expired,
        "withdrawn": invitation_withdrawn,
        "undeliverable": invitation_undeliverable,
    },
    "PasswordReset": {
        "used": reset_used,
        "expired_unused": reset_expired_unused,
        "repeated_requests_then_used": reset_repeated_requests_then_used,
    },
    "PasswordChangedNotice": {
        "profile_change": notice_profile_change,
    },
    "PurgeStaleCounters": {
        "purged": purge_stale_counters,
    },
}


# --- recording ---------------------------------------------------------------------------


async def record(out_root: Path = HISTORIES, version: str = UNRELEASED, only: list[str] | None = None) -> list[Path]:
    """Run the scenarios and write their histories; returns the files written."""
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="lkk-record-") as tmp:
        smtp_port, http_port = free_port(), free_port()
        sink = subprocess.Popen(
            [sys.executable, "-m", "devstack.mailsink", "--smtp-port", str(smtp_port),
             "--http-port", str(http_port), "--data-dir", f"{tmp}/mail"],
            cwd=ROOT,
        )
        try:
            wait_http(f"http://127.0.0.1:{http_port}/livez", proc=sink)
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                database_url=f"sqlite:///{tmp}/lkk.db",
                smtp_port=smtp_port,
                captcha_test_answer="TEST42",
                public_base_url="http://lkk.test",
                password_reset_min_response_ms=0,  # the timing pad is not what is recorded
            )
            mailbox = Mailbox(f"http://127.0.0.1:{http_port}")
            for workflow_type, scenarios in SCENARIOS.items():
                if only and workflow_type not in only:
                    continue
                target = out_root / workflow_type / version
                target.mkdir(parents=True, exist_ok=True)
                for old in target.glob("*.json"):
                    old.unlink()
                for name, scenario in scenarios.items():
                    # A fresh database per scenario: each binds the sample registry's contracts.
                    overrides = {
                        "database_url": f"sqlite:///{tmp}/{workflow_type}-{name}.db",
                        **getattr(scenario, "settings_overrides", {}),
                    }
                    out = target / f"{name}.json"
                    written.append(await _record_one(settings.model_copy(update=overrides), mailbox, scenario, out))
        finally:
            stop_process(sink)
    return written


async def _record_one(settings: Settings, mailbox: Mailbox, scenario: Scenario, out: Path) -> Path:
    engine = make_engine(settings.database_url)
    create_schema(engine)
    # A fresh server per scenario: a leftover run would stall time skipping (tests/conftest.py).
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=tool("temporal-test-server"), data_converter=pydantic_data_converter
    )
    try:
        await register_search_attributes(env.client, "default")
        started = _StartedRuns()
        config = env.client.config()
        api_client = Client(**{**config, "interceptors": [*config["interceptors"], started]})
        async with running_worker(env.client, settings) as worker_settings:
            rig = Rig(env=env, ctx=context(worker_settings, engine, api_client), mailbox=mailbox, started=started)
            workflow_id = await scenario(rig)
            handle = env.client.get_workflow_handle(workflow_id)
            await handle.result()  # recorded histories are of finished runs
            history = await handle.fetch_history()
    finally:
        await env.shutdown()
        engine.dispose()
    data = _scrub_identity(history.to_json_dict())
    _check_no_secrets(data, rig.secrets, out)
    out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"recorded {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} ({len(history.events)} events)")
    return out


def _check_no_secrets(data: object, secrets: list[str], out: Path) -> None:
    """Refuse to write a history holding an address, a hash or a value the scenario kept secret."""
    found = forbidden_in(data, secrets)
    if found:
        raise AssertionError(f"{out.name}: the history holds {', '.join(found)}; not written")


def forbidden_in(history_json: object, secrets: list[str] | tuple[str, ...] = ()) -> list[str]:
    """What a history must not hold, found in it with every payload decoded (empty: clean)."""
    text = history_text(history_json)  # type: ignore[arg-type]
    found = [f"an e-mail address ({m.group(0).split('@')[1]})" for m in EMAIL_PATTERN.finditer(text)]
    if ARGON2_MARK in text:
        found.append("an argon2 hash")
    found += [f"a secret the scenario handled ({len(s)} chars)" for s in secrets if s in text]
    return found


def _scrub_identity(node: object) -> object:
    """Worker identities are "pid@hostname" and failure stack traces hold file paths of
    the recording machine: noise in a diff and machine details in git. Replay needs neither."""
    if isinstance(node, dict):
        scrubbed = {"identity": "recorder", "stackTrace": ""}
        return {k: (scrubbed[k] if k in scrubbed else _scrub_identity(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_scrub_identity(item) for item in node]
    return node


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workflow", action="append", help="workflow type to record (default: all)")
    parser.add_argument("--version", default=UNRELEASED, help=f"version directory (default {UNRELEASED})")
    parser.add_argument("--out", type=Path, default=HISTORIES, help="root directory (default tests/histories)")
    args = parser.parse_args()
    asyncio.run(record(args.out, args.version, args.workflow))


if __name__ == "__main__":
    main()
