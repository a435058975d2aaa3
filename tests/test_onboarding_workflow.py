"""The onboarding workflow on Temporal's time-skipping test server, with the real
activities, a real SQLite database and real SMTP into the sink."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from api.services import registration as svc
from lkk.models import Account, AccountStatus, ConfirmationToken
from lkk.settings import Settings
from lkk.store import session_for, signups
from lkk.temporal import onboarding_workflow_id
from lkk.timeutil import utcnow
from tests.conftest import MailSinkProcess
from tests.harness import (
    PASSWORD,
    confirm,
    confirmation_token,
    context,
    history_text,
    running_worker,
    sign_up,
    unique_login,
)
from workflows.messages import OnboardingStage
from workflows.onboarding import OnboardingWorkflow

pytestmark = pytest.mark.asyncio


def _account(engine: Engine, login: str) -> Account | None:
    with Session(engine) as session:
        return session.exec(select(Account).where(Account.login == login)).first()


async def test_confirm_activates_account_and_opens_contract_stage(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, settings) as worker_settings:
        ctx = context(worker_settings, engine, client)
        login = unique_login()
        registered = await sign_up(ctx, login)
        token = await confirmation_token(mailsink.mailbox, f"{login}@example.ru")

        confirmation = await confirm(ctx, token)
        assert confirmation.outcome is signups.ConfirmOutcome.CONFIRMED
        assert confirmation.session_token

        # The run now waits for the first contract binding (tests/test_contract_binding_workflow.py).
        handle = client.get_workflow_handle_for(OnboardingWorkflow.run, onboarding_workflow_id(registered.account_id))
        state = await handle.query(OnboardingWorkflow.state)
        assert state.stage is OnboardingStage.AWAITING_CONTRACT
        assert state.emails_sent == 1 and state.confirmed_at is not None
        account = _account(engine, login)
        assert account is not None and account.status == AccountStatus.ACTIVE
        assert account.expires_at is None


async def test_double_confirm_is_harmless(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, settings) as worker_settings:
        ctx = context(worker_settings, engine, client)
        login = unique_login()
        await sign_up(ctx, login)
        token = await confirmation_token(mailsink.mailbox, f"{login}@example.ru")

        first = await confirm(ctx, token)
        second = await confirm(ctx, token)
        assert first.outcome is signups.ConfirmOutcome.CONFIRMED
        assert second.outcome is signups.ConfirmOutcome.ALREADY_CONFIRMED
        assert second.session_token is None  # a used link never logs anyone in again


async def test_unconfirmed_signup_expires_after_72_hours_and_frees_login(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    client = time_skipping_env.client
    assert settings.signup_ttl_seconds == 72 * 3600
    async with running_worker(client, settings) as worker_settings:
        ctx = context(worker_settings, engine, client)
        login = unique_login()
        registered = await sign_up(ctx, login)
        token = await confirmation_token(mailsink.mailbox, f"{login}@example.ru")
        handle = client.get_workflow_handle_for(OnboardingWorkflow.run, onboarding_workflow_id(registered.account_id))

        await time_skipping_env.sleep(timedelta(hours=71))
        state = await handle.query(OnboardingWorkflow.state)
        assert state.stage is OnboardingStage.AWAITING_EMAIL  # not a minute early

        # Handles looked up by id do not unlock time skipping; sleeping does.
        await time_skipping_env.sleep(timedelta(hours=1, minutes=1))
        result = await handle.result()
        assert result.stage is OnboardingStage.EXPIRED
        assert _account(engine, login) is None
        with Session(engine) as session:
            assert session.exec(select(ConfirmationToken)).all() == []

        # Confirming after expiry says so; the login and e-mail are free again.
        late = await confirm(ctx, token)
        assert late.outcome in (signups.ConfirmOutcome.INVALID, signups.ConfirmOutcome.EXPIRED)
        again = await sign_up(ctx, login)
        assert again.account_id != registered.account_id


async def test_resend_has_cooldown_limit_and_kills_older_links(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, settings) as worker_settings:
        ctx = context(worker_settings, engine, client)
        login = unique_login()
        email = f"{login}@example.ru"
        registered = await sign_up(ctx, login)
        first_token = await confirmation_token(mailsink.mailbox, email)

        too_soon = await svc.resend(ctx, registered.account_id)
        assert too_soon.outcome is svc.ResendOutcome.COOLDOWN
        assert 0 < too_soon.retry_after_seconds <= 61

        sent = 0
        for _ in range(settings.max_resends):
            await time_skipping_env.sleep(timedelta(seconds=61))
            result = await svc.resend(ctx, registered.account_id)
            assert result.outcome is svc.ResendOutcome.SENT, result
            sent += 1
            await mailsink.mailbox.wait_for_async(to=email, count=1 + sent, timeout=30)
        await time_skipping_env.sleep(timedelta(seconds=61))
        assert (await svc.resend(ctx, registered.account_id)).outcome is svc.ResendOutcome.LIMIT

        newest_token = await confirmation_token(mailsink.mailbox, email, count=1 + sent)
        assert (await confirm(ctx, first_token)).outcome is signups.ConfirmOutcome.INVALID
        assert (await confirm(ctx, newest_token)).outcome is signups.ConfirmOutcome.CONFIRMED
        handle = client.get_workflow_handle_for(OnboardingWorkflow.run, onboarding_workflow_id(registered.account_id))
        state = await handle.query(OnboardingWorkflow.state)
        assert state.stage is OnboardingStage.AWAITING_CONTRACT
        assert state.emails_sent == 1 + settings.max_resends
        assert (await svc.resend(ctx, registered.account_id)).outcome is svc.ResendOutcome.ALREADY_CONFIRMED


async def test_history_holds_no_password_hash_or_link_token(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    client = time_skipping_env.client
    async with running_worker(client, settings) as worker_settings:
        ctx = context(worker_settings, engine, client)
        login = unique_login()
        email = f"{login}@example.ru"
        registered = await sign_up(ctx, login)
        first = await confirmation_token(mailsink.mailbox, email)
        await time_skipping_env.sleep(timedelta(seconds=61))
        await svc.resend(ctx, registered.account_id)
        second = await confirmation_token(mailsink.mailbox, email, count=2)
        await confirm(ctx, second)
        handle = client.get_workflow_handle_for(OnboardingWorkflow.run, onboarding_workflow_id(registered.account_id))
        state = await handle.query(OnboardingWorkflow.state)
        assert state.stage is OnboardingStage.AWAITING_CONTRACT  # the confirmation is in the history

        account = _account(engine, login)
        assert account is not None
        history = history_text((await handle.fetch_history()).to_json_dict())
        secrets = [PASSWORD, account.password_hash, first, second, email]
        for secret in secrets:
            assert secret not in history
        assert login in history  # the login is there on purpose: support searches by it


async def test_confirmation_wins_the_race_with_expiry_in_the_database(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    """If the API activates the account but its signal is lost, the workflow still
    moves on to the contract stage when its expiry check finds the account active."""
    client = time_skipping_env.client
    async with running_worker(client, settings) as worker_settings:
        ctx = context(worker_settings, engine, client)
        login = unique_login()
        registered = await sign_up(ctx, login)
        token = await confirmation_token(mailsink.mailbox, f"{login}@example.ru")
        # Activate in the database only (what the API does before its signal).
        outcome = signups.confirm(session_for(engine), token, now=utcnow())
        assert outcome.outcome is signups.ConfirmOutcome.CONFIRMED

        handle = client.get_workflow_handle_for(OnboardingWorkflow.run, onboarding_workflow_id(registered.account_id))
        await time_skipping_env.sleep(timedelta(hours=72, minutes=1))
        state = await handle.query(OnboardingWorkflow.state)
        assert state.stage is OnboardingStage.AWAITING_CONTRACT and state.confirmed_at is not None
        account = _account(engine, login)
        assert account is not None and account.status == AccountStatus.ACTIVE
