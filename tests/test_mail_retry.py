"""Retry policy of the confirmation e-mail (workflows/onboarding.py MAIL_RETRY) against
real SMTP faults from the dev sink's switch, on the time-skipping server:
an SMTP outage of an hour only delays the e-mail; a permanent 5xx rejection is
tried once, ends the sign-up (freeing its login) and is shown to support in the run's
state and current details."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.testing import WorkflowEnvironment

from api.services import registration as svc
from lkk.settings import Settings
from lkk.store import signups
from lkk.temporal import onboarding_workflow_id
from tests.conftest import MailSinkProcess
from tests.harness import confirm, confirmation_token, context, history_text, running_worker, sign_up, unique_login
from workflows.messages import OnboardingResult, OnboardingStage
from workflows.onboarding import OnboardingWorkflow


@pytest.fixture
async def smtp_switch(mailsink: MailSinkProcess) -> AsyncIterator[MailSinkProcess]:
    """The sink is shared by the session: always switch it back to normal delivery."""
    try:
        yield mailsink
    finally:
        await mailsink.mailbox.set_smtp_mode_async("accept")


async def test_smtp_down_for_an_hour_delays_the_email_but_keeps_the_signup(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, smtp_switch: MailSinkProcess
) -> None:
    client = time_skipping_env.client
    mailbox = smtp_switch.mailbox
    async with running_worker(client, settings) as worker_settings:
        ctx = context(worker_settings, engine, client)
        login = unique_login("tempfail")
        email = f"{login}@example.ru"
        await mailbox.set_smtp_mode_async("tempfail")
        registered = await sign_up(ctx, login)
        workflow_id = onboarding_workflow_id(registered.account_id)
        handle = client.get_workflow_handle(workflow_id, result_type=OnboardingResult)

        await time_skipping_env.sleep(timedelta(hours=1))
        state = await handle.query(OnboardingWorkflow.state)
        assert state.stage is OnboardingStage.AWAITING_EMAIL
        assert state.emails_sent == 0 and state.mail_problem is None  # still trying, nothing lost
        [pending] = (await handle.describe()).raw_description.pending_activities
        assert pending.activity_type.name == "send_confirmation_email"
        assert pending.attempt >= 5, "retried with backoff through the outage"
        assert "451" in pending.last_failure.message  # what support sees on the pending activity

        await mailbox.set_smtp_mode_async("accept")
        await time_skipping_env.sleep(timedelta(minutes=11))  # the backoff is capped at 10 minutes
        token = await confirmation_token(mailbox, email)
        state = await handle.query(OnboardingWorkflow.state)
        assert state.emails_sent == 1 and state.mail_problem is None

        assert (await confirm(ctx, token)).outcome is signups.ConfirmOutcome.CONFIRMED
        await time_skipping_env.sleep(timedelta(seconds=1))  # let the signal be processed
        state = await handle.query(OnboardingWorkflow.state)
        assert state.stage is OnboardingStage.AWAITING_CONTRACT  # the sign-up survived the outage


async def test_permanent_rejection_is_tried_once_and_ends_the_signup_visibly(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, smtp_switch: MailSinkProcess
) -> None:
    """A 5xx is not retried, and the sign-up does not sit on its login for 72 hours: it
    ends as undeliverable, support reads why, and the customer can register again."""
    client = time_skipping_env.client
    mailbox = smtp_switch.mailbox
    async with running_worker(client, settings) as worker_settings:
        ctx = context(worker_settings, engine, client)
        login = unique_login("reject")
        email = f"{login}@example.ru"
        await mailbox.set_smtp_mode_async("reject")
        registered = await sign_up(ctx, login)
        workflow_id = onboarding_workflow_id(registered.account_id)
        handle = client.get_workflow_handle(workflow_id, result_type=OnboardingResult)

        result = await handle.result()
        assert result.stage is OnboardingStage.UNDELIVERABLE and result.emails_sent == 0
        state = await handle.query(OnboardingWorkflow.state)
        assert state.stage is OnboardingStage.UNDELIVERABLE
        assert state.mail_problem is not None
        assert "отклонил" in state.mail_problem and "550" in state.mail_problem
        assert svc.ended_notice(state) == svc.UNDELIVERABLE_NOTICE  # what «Проверьте почту» says
        metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        assert "НЕ ОТПРАВЛЕНО" in metadata.current_details and "550" in metadata.current_details
        assert "не доставляется" in metadata.current_details  # the stage title support reads first

        history = await handle.fetch_history()
        started = [e.activity_task_started_event_attributes for e in history.events
                   if e.HasField("activity_task_started_event_attributes")]
        assert [s.attempt for s in started] == [1, 1], "a 5xx rejection is not retried; then the sign-up is deleted"
        assert email not in history_text(history.to_json_dict())  # the address stays out of history

        # The login and the address are free: the customer registers again (with a correct address).
        await mailbox.set_smtp_mode_async("accept")
        again = await sign_up(ctx, login)
        assert again.account_id != registered.account_id
        await confirmation_token(mailbox, email)
