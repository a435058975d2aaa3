"""Contract binding through Temporal (time-skipping server) with the real worker
activities, a real SQLite database, the real sample registry and real SMTP.

Bindings go through the service layer the API uses (api.services.contracts, by way of
tests/binding_harness.py, which also words each outcome as api/errors.py does), so every
outcome below travelled: parked attempt → update or short workflow → verification
activity → registry/binding store → back to the caller.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from lkk.billing.models import BindingEvent
from lkk.settings import Settings
from lkk.store import session_for, signups
from lkk.timeutil import utcnow
from tests import binding_harness as contracts
from tests.binding_harness import (
    CLOSED_LEGAL,
    OPEN_ENTREPRENEUR,
    OPEN_LEGAL,
    account_by_login,
    confirmed_cabinet,
    issue,
    load_registry,
    pending_binding_requests,
)
from tests.conftest import MailSinkProcess
from tests.harness import confirmation_token, context, history_text, running_worker, sign_up, unique_login
from tests.mailbox import links
from worker import WORKFLOWS
from workflows.messages import BindStatus, OnboardingResult, OnboardingStage, OnboardingState
from workflows.onboarding import OnboardingWorkflow

pytestmark = pytest.mark.asyncio

WRONG_MESSAGE = "Данные договора не найдены. Проверьте номер договора, ИНН, КПП и код подтверждения."
REMINDER_SUBJECT = "Привяжите договор"


async def _state(env: WorkflowEnvironment, workflow_id: str) -> OnboardingState:
    handle = env.client.get_workflow_handle_for(OnboardingWorkflow.run, workflow_id)
    return await handle.query(OnboardingWorkflow.state)


async def _result(env: WorkflowEnvironment, workflow_id: str) -> OnboardingResult:
    return await env.client.get_workflow_handle_for(OnboardingWorkflow.run, workflow_id).result()


async def test_first_binding_completes_onboarding_and_code_stays_out_of_history(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    env = time_skipping_env
    load_registry(engine)
    code = issue(engine, OPEN_LEGAL[0])
    async with running_worker(env.client, settings) as worker_settings:
        ctx = context(worker_settings, engine, env.client)
        me = await confirmed_cabinet(ctx, mailsink, engine)
        assert (await _state(env, me.workflow_id)).stage is OnboardingStage.AWAITING_CONTRACT

        # The customer types the code in lower case without the dash: still the same code.
        typed = code.replace("-", "").lower()
        bindings_before = REGISTRY.get_sample_value("lkk_contract_bindings_total") or 0.0
        bound = await contracts.bind(ctx, me.account, " №7701-000101 ", OPEN_LEGAL[1], OPEN_LEGAL[2], typed)
        assert bound.status is BindStatus.BOUND, bound
        assert REGISTRY.get_sample_value("lkk_contract_bindings_total") == bindings_before + 1  # the worker's metric
        assert bound.message == "Договор № 7701-000101 привязан к вашему личному кабинету."

        result = await _result(env, me.workflow_id)
        assert result.stage is OnboardingStage.ONBOARDED
        assert result.contract_number == "7701-000101" and result.bound_at is not None
        assert result.reminders_sent == 0

        cards = await contracts.listed(ctx, me.account)
        assert [c.number for c in cards] == ["7701-000101"]
        details = cards[0]
        assert details.status is not None  # the registry lists it
        assert [p.external_id for p in details.metering_points] == ["TU-000101-01", "TU-000101-02", "TU-000101-03"]
        assert [m.serial_number for m in details.metering_points[0].meters] == ["00112201", "00112202"]

        handle = env.client.get_workflow_handle(me.workflow_id)
        history = history_text((await handle.fetch_history()).to_json_dict())
        for secret in (code, code.replace("-", ""), typed):
            assert secret not in history
        assert "7701-000101" in history  # the contract number is there on purpose

        # The history replays with today's code (deterministic workflow).
        replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
        await replayer.replay_workflow(await handle.fetch_history())
        assert pending_binding_requests(engine) == 0  # the parked attempt is gone


async def test_every_outcome_on_the_onboarding_update_then_bound(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    env = time_skipping_env
    closed_code = load_registry(engine, with_closed_code=True)
    code_101 = issue(engine, OPEN_LEGAL[0])
    code_103 = issue(engine, OPEN_ENTREPRENEUR[0])
    async with running_worker(env.client, settings) as worker_settings:
        ctx = context(worker_settings, engine, env.client)
        me = await confirmed_cabinet(ctx, mailsink, engine, "me")
        other = await confirmed_cabinet(ctx, mailsink, engine, "other")
        assert (await contracts.bind(ctx, other.account, *OPEN_LEGAL, code_101)).status is BindStatus.BOUND

        wrong_code = await contracts.bind(ctx, me.account, *OPEN_ENTREPRENEUR, "ABCD-EFGH")
        wrong_inn = await contracts.bind(ctx, me.account, OPEN_ENTREPRENEUR[0], "500100732259", None, code_103)
        unknown = await contracts.bind(ctx, me.account, "7701-999999", *OPEN_ENTREPRENEUR[1:], code_103)
        # One generic answer whichever field was wrong, the number included.
        for outcome in (wrong_code, wrong_inn, unknown):
            assert (outcome.status, outcome.message) == (BindStatus.WRONG_DATA, WRONG_MESSAGE)

        closed = await contracts.bind(ctx, me.account, *CLOSED_LEGAL, closed_code or "")
        assert (closed.status, closed.message) == (BindStatus.CLOSED, "Договор закрыт. Привязка невозможна.")

        taken = await contracts.bind(ctx, me.account, *OPEN_LEGAL, code_101)
        assert taken.status is BindStatus.BOUND_TO_ANOTHER
        assert taken.message == "Этот договор уже привязан к другому личному кабинету. Обратитесь в офис поставщика."

        invalid = await contracts.bind(ctx, me.account, "7", "0001473829", "12", "")
        assert invalid.status is BindStatus.INVALID
        assert set(invalid.field_errors) == {"contract_number", "inn", "kpp", "code"}
        assert "контрольное число" in invalid.field_errors["inn"]

        # None of that completed onboarding; every attempt is in the Temporal UI's details.
        state = await _state(env, me.workflow_id)
        assert state.stage is OnboardingStage.AWAITING_CONTRACT and state.contract_number is None

        bound = await contracts.bind(ctx, me.account, *OPEN_ENTREPRENEUR, code_103)
        assert bound.status is BindStatus.BOUND
        result = await _result(env, me.workflow_id)
        assert result.stage is OnboardingStage.ONBOARDED and result.contract_number == "7701-000103"
        assert pending_binding_requests(engine) == 0


async def test_lockout_after_five_failures_survives_a_worker_restart(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    env = time_skipping_env
    load_registry(engine)
    code = issue(engine, OPEN_LEGAL[0])
    async with running_worker(env.client, settings) as worker_settings:
        ctx = context(worker_settings, engine, env.client)
        me = await confirmed_cabinet(ctx, mailsink, engine)
        for _ in range(settings.billing_lockout_threshold):
            guess = await contracts.bind(ctx, me.account, *OPEN_LEGAL, "ABCD-EFGH")
            assert guess.status is BindStatus.WRONG_DATA
        locked = await contracts.bind(ctx, me.account, *OPEN_LEGAL, code)  # even the right code
        assert locked.status is BindStatus.LOCKED
        assert locked.retry_after_seconds is not None and 0 < locked.retry_after_seconds <= 60
        assert locked.message == "Слишком много неудачных попыток привязки. Повторите попытку через 1 минуту."

        assert (await _state(env, me.workflow_id)).stage is OnboardingStage.AWAITING_CONTRACT

    # A new worker process (a restart) and another cabinet: the contract's lock is in
    # the database, not in a process, and it holds for every cabinet.
    async with running_worker(env.client, settings) as worker_settings:
        ctx = context(worker_settings, engine, env.client)
        other = await confirmed_cabinet(ctx, mailsink, engine, "other")
        still = await contracts.bind(ctx, other.account, *OPEN_LEGAL, code)
        assert still.status is BindStatus.LOCKED
        assert (await _state(env, other.workflow_id)).stage is OnboardingStage.AWAITING_CONTRACT


async def test_two_cabinets_binding_one_contract_at_once_exactly_one_wins(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    env = time_skipping_env
    load_registry(engine)
    code = issue(engine, OPEN_LEGAL[0])
    async with running_worker(env.client, settings) as worker_settings:
        ctx = context(worker_settings, engine, env.client)
        first = await confirmed_cabinet(ctx, mailsink, engine, "a")
        second = await confirmed_cabinet(ctx, mailsink, engine, "b")
        outcomes = await asyncio.gather(
            contracts.bind(ctx, first.account, *OPEN_LEGAL, code),
            contracts.bind(ctx, second.account, *OPEN_LEGAL, code),
        )
        statuses = sorted(o.status.value for o in outcomes)
        assert statuses == [BindStatus.BOUND.value, BindStatus.BOUND_TO_ANOTHER.value]
        winner, loser = (first, second) if outcomes[0].status is BindStatus.BOUND else (second, first)
        assert (await _result(env, winner.workflow_id)).stage is OnboardingStage.ONBOARDED
        assert (await _state(env, loser.workflow_id)).stage is OnboardingStage.AWAITING_CONTRACT
        assert [c.number for c in await contracts.listed(ctx, loser.account)] == []
        with Session(engine) as session:
            assert len(session.exec(select(BindingEvent)).all()) == 1


async def test_one_reminder_after_seven_days_then_binding_completes_onboarding(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    env = time_skipping_env
    assert settings.binding_reminder_seconds == 7 * 24 * 3600
    load_registry(engine)
    code = issue(engine, OPEN_LEGAL[0])
    async with running_worker(env.client, settings) as worker_settings:
        ctx = context(worker_settings, engine, env.client)
        me = await confirmed_cabinet(ctx, mailsink, engine)

        await env.sleep(timedelta(days=7) - timedelta(hours=1))
        state = await _state(env, me.workflow_id)
        assert state.stage is OnboardingStage.AWAITING_CONTRACT and state.reminder_sent_at is None
        assert await _reminders(mailsink, me.email) == 0  # not an hour early

        await env.sleep(timedelta(hours=1, minutes=1))
        reminder = await mailsink.mailbox.wait_for_async(to=me.email, subject_contains=REMINDER_SUBJECT, timeout=30)
        assert reminder["Subject"] == "Привяжите договор в Личном кабинете клиента"
        assert "http://lkk.test/profile#contract-bind" in links(reminder)  # from public_base_url
        assert me.login in reminder["Text"]
        state = await _state(env, me.workflow_id)
        assert state.stage is OnboardingStage.AWAITING_CONTRACT and state.reminder_sent_at is not None
        details = await _current_details(env, me.workflow_id)  # what support reads in the Temporal UI
        assert "**Ожидает привязки договора**" in details
        assert "Напоминание о привязке договора отправлено" in details

        await env.sleep(timedelta(days=30))  # still waiting, and no second reminder
        assert (await _state(env, me.workflow_id)).stage is OnboardingStage.AWAITING_CONTRACT
        assert await _reminders(mailsink, me.email) == 1

        assert (await contracts.bind(ctx, me.account, *OPEN_LEGAL, code)).status is BindStatus.BOUND
        result = await _result(env, me.workflow_id)
        assert result.stage is OnboardingStage.ONBOARDED and result.reminders_sent == 1
        details = await _current_details(env, me.workflow_id)
        assert "**Подключён**" in details and "Договор № 7701-000101 привязан" in details


async def test_wait_ends_without_contract_and_binding_still_works_later(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    env = time_skipping_env
    assert settings.binding_wait_seconds == 90 * 24 * 3600
    load_registry(engine)
    async with running_worker(env.client, settings) as worker_settings:
        ctx = context(worker_settings, engine, env.client)
        me = await confirmed_cabinet(ctx, mailsink, engine)
        await env.sleep(timedelta(days=89))
        assert (await _state(env, me.workflow_id)).stage is OnboardingStage.AWAITING_CONTRACT
        await env.sleep(timedelta(days=1, minutes=1))
        result = await _result(env, me.workflow_id)
        assert result.stage is OnboardingStage.NO_CONTRACT and result.reminders_sent == 1
        assert result.contract_number is None

        # The account stays active; binding now runs as a short ContractBinding workflow.
        code = issue(engine, OPEN_LEGAL[0])
        bound = await contracts.bind(ctx, me.account, *OPEN_LEGAL, code)
        assert bound.status is BindStatus.BOUND
        again = await contracts.bind(ctx, me.account, *OPEN_LEGAL, code)
        assert again.status is BindStatus.ALREADY_BOUND_TO_YOU
        wrong = await contracts.bind(ctx, me.account, *OPEN_ENTREPRENEUR, "ABCD-EFGH")
        assert (wrong.status, wrong.message) == (BindStatus.WRONG_DATA, WRONG_MESSAGE)
        assert [c.number for c in await contracts.listed(ctx, me.account)] == ["7701-000101"]
        assert pending_binding_requests(engine) == 0


async def test_reminder_and_wait_follow_the_settings(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    env = time_skipping_env
    short = settings.model_copy(update={"binding_reminder_seconds": 3600, "binding_wait_seconds": 2 * 3600})
    async with running_worker(env.client, short) as worker_settings:
        ctx = context(worker_settings, engine, env.client)
        me = await confirmed_cabinet(ctx, mailsink, engine)
        await env.sleep(timedelta(minutes=59))
        assert (await _state(env, me.workflow_id)).reminder_sent_at is None
        await env.sleep(timedelta(minutes=2))
        await mailsink.mailbox.wait_for_async(to=me.email, subject_contains=REMINDER_SUBJECT, timeout=30)
        assert (await _state(env, me.workflow_id)).stage is OnboardingStage.AWAITING_CONTRACT
        await env.sleep(timedelta(hours=1))
        result = await _result(env, me.workflow_id)
        assert result.stage is OnboardingStage.NO_CONTRACT and result.reminders_sent == 1


async def test_binding_while_awaiting_email_counts_as_confirmation(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    """The API activated the account but its confirmation signal was lost."""
    env = time_skipping_env
    load_registry(engine)
    code = issue(engine, OPEN_LEGAL[0])
    async with running_worker(env.client, settings) as worker_settings:
        ctx = context(worker_settings, engine, env.client)
        login = unique_login()
        registered = await sign_up(ctx, login)
        token = await confirmation_token(mailsink.mailbox, f"{login}@example.ru")
        assert signups.confirm(session_for(engine), token, now=utcnow()).outcome is signups.ConfirmOutcome.CONFIRMED  # DB only
        workflow_id = f"onboarding-{registered.account_id}"
        assert (await _state(env, workflow_id)).stage is OnboardingStage.AWAITING_EMAIL

        bound = await contracts.bind(ctx, account_by_login(engine, login), *OPEN_LEGAL, code)
        assert bound.status is BindStatus.BOUND
        result = await _result(env, workflow_id)
        assert result.stage is OnboardingStage.ONBOARDED and result.confirmed_at is not None


async def test_unbind_frees_the_contract_for_another_cabinet(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    env = time_skipping_env
    load_registry(engine)
    code = issue(engine, OPEN_LEGAL[0])
    async with running_worker(env.client, settings) as worker_settings:
        ctx = context(worker_settings, engine, env.client)
        owner = await confirmed_cabinet(ctx, mailsink, engine, "owner")
        buyer = await confirmed_cabinet(ctx, mailsink, engine, "buyer")
        assert (await contracts.bind(ctx, owner.account, *OPEN_LEGAL, code)).status is BindStatus.BOUND
        assert (await contracts.bind(ctx, buyer.account, *OPEN_LEGAL, code)).status is BindStatus.BOUND_TO_ANOTHER

        assert await contracts.unbind(ctx, buyer.account, "7701-000101") is False  # not the buyer's
        assert await contracts.unbind(ctx, owner.account, "7701-000101") is True
        assert await contracts.listed(ctx, owner.account) == []
        assert await contracts.unbind(ctx, owner.account, "7701-000101") is False  # already free

        assert (await contracts.bind(ctx, buyer.account, *OPEN_LEGAL, code)).status is BindStatus.BOUND
        with Session(engine) as session:
            kinds = [(e.kind, e.account_id) for e in session.exec(select(BindingEvent).order_by(BindingEvent.id)).all()]  # type: ignore[arg-type]
        assert kinds == [("bound", owner.account.id), ("unbound", owner.account.id), ("bound", buyer.account.id)]


async def _reminders(mailsink: MailSinkProcess, email: str) -> int:
    found = await asyncio.to_thread(mailsink.mailbox.search, f"to:{email}")
    return sum(1 for m in found if REMINDER_SUBJECT in m["Subject"])


async def _current_details(env: WorkflowEnvironment, workflow_id: str) -> str:
    metadata = await env.client.get_workflow_handle(workflow_id).query(
        "__temporal_workflow_metadata", result_type=WorkflowMetadata
    )
    return metadata.current_details
