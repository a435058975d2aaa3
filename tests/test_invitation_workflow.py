"""The ``Invitation`` workflow on Temporal's time-skipping test server with the real
worker activities, a real database (SQLite and PostgreSQL), the real company store and
real SMTP into the sink: the letter and its link, expiry, re-send limits, accept and
revoke at the same moment, unbinding, an undeliverable letter, and the inviter's notice.

Invitations are made as the API makes them (tests/invitation_harness.py): the store's
unit of work, then the run, then updates by method reference.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy.engine import Engine
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from lkk.company import access, invitations
from lkk.company.errors import InvitationClosed, InvitationNotFound
from lkk.company.models import AuditAction, InvitationStatus, Role
from lkk.settings import Settings
from lkk.store import session_for
from lkk.timeutil import utcnow
from tests import binding_harness as contracts
from tests.binding_harness import OPEN_ENTREPRENEUR, OPEN_LEGAL, Cabinet, confirmed_cabinet, issue, load_registry
from tests.conftest import MailSinkProcess
from tests.harness import context, history_text, running_worker
from tests.invitation_harness import (
    ACCEPTED_SUBJECT,
    audit_actions,
    create_invitation,
    invitation_letters,
    invitation_row,
    invite,
)
from tests.mailbox import links
from workflows.errors import InvitationNotPending, ResendCooldown, ResendLimit
from workflows.invitation import InvitationWorkflow
from workflows.messages import (
    AcceptInvitationRequest,
    InvitationResult,
    InvitationStage,
    ResendInvitationRequest,
    RevokeInvitationRequest,
)
from workflows.search_attributes import LKK_CONTRACTS, LKK_LOGIN, LKK_STAGE

pytestmark = pytest.mark.asyncio

NUMBER = OPEN_LEGAL[0]  # 7701-000101


@pytest.fixture
async def smtp_switch(mailsink: MailSinkProcess) -> AsyncIterator[MailSinkProcess]:
    """The sink is shared by the session: always switch it back to normal delivery."""
    try:
        yield mailsink
    finally:
        await mailsink.mailbox.set_smtp_mode_async("accept")


async def _admin(ctx, mailsink: MailSinkProcess, engine: Engine, *contracts_: tuple[str, str, str | None]) -> Cabinet:  # type: ignore[no-untyped-def]
    """A cabinet that bound ``contracts_`` (so it administers them)."""
    admin = await confirmed_cabinet(ctx, mailsink, engine, "admin")
    for contract in contracts_:
        bound = await contracts.bind(ctx, admin.account, *contract, issue(engine, contract[0]))
        assert bound.status.value == "bound", bound
    return admin


def _token(letter: dict[str, object]) -> str:
    [link] = [u for u in links(letter) if "/invitation?" in u]
    assert link.startswith("http://lkk.test/invitation?token=")  # from public_base_url
    return parse_qs(urlparse(link).query)["token"][0]


def _accept(cabinet: Cabinet) -> AcceptInvitationRequest:
    return AcceptInvitationRequest(account_id=cabinet.account.id, login=cabinet.login)


def _actor(cabinet: Cabinet) -> RevokeInvitationRequest:
    return RevokeInvitationRequest(actor_account_id=cabinet.account.id, actor_login=cabinet.login)


def _resend(cabinet: Cabinet) -> ResendInvitationRequest:
    return ResendInvitationRequest(actor_account_id=cabinet.account.id, actor_login=cabinet.login)


async def _details(handle: WorkflowHandle) -> str:  # type: ignore[type-arg]
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return metadata.current_details


def _role(engine: Engine, account_id: str, number: str) -> Role | None:
    with session_for(engine) as session:
        return access.role_of(session, account_id, number)


async def test_letter_link_accept_grants_access_and_the_inviter_hears_of_it(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, smtp_switch: MailSinkProcess
) -> None:
    env, mailbox = time_skipping_env, smtp_switch.mailbox
    load_registry(engine)
    async with running_worker(env.client, settings) as worker_settings:
        ctx = context(worker_settings, engine, env.client)
        admin = await _admin(ctx, smtp_switch, engine, OPEN_LEGAL, OPEN_ENTREPRENEUR)
        colleague = await confirmed_cabinet(ctx, smtp_switch, engine, "buh")
        handle = await invite(
            env.client, engine, worker_settings, admin.account.id, admin.login, colleague.email,
            [OPEN_ENTREPRENEUR[0], NUMBER], full_name="Иванова Мария Петровна",
        )

        [letter] = await invitation_letters(mailbox, colleague.email)
        assert letter["Subject"] == "Приглашение в Личный кабинет клиента"
        text = str(letter["Text"])
        for shown in ("Иванова Мария Петровна", admin.login, "7701-000101", "7701-000103", "«Просмотр»", "действует до", "МСК"):
            assert shown in text, shown
        token = _token(letter)
        with session_for(engine) as session:
            view = invitations.peek(session, token, utcnow())
        assert view.email == colleague.email and view.inviter_login == admin.login
        assert sorted(view.contract_numbers) == ["7701-000101", "7701-000103"] and view.role is Role.VIEWER
        assert view.account_exists  # the colleague already has an account on that address

        # SMTP trouble while the inviter's notice goes out: the run stays open, refusing updates.
        await mailbox.set_smtp_mode_async("tempfail")
        accepted = await handle.execute_update(InvitationWorkflow.accept, _accept(colleague))
        assert accepted.accepted and sorted(accepted.contract_numbers) == ["7701-000101", "7701-000103"]
        assert _role(engine, colleague.account.id, NUMBER) is Role.VIEWER
        for update, arg in ((InvitationWorkflow.revoke, _actor(admin)), (InvitationWorkflow.resend, _resend(admin))):
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update(update, arg)  # type: ignore[arg-type]
            assert InvitationNotPending.matches(refused.value.cause)
            assert refused.value.cause.details == (InvitationStage.ACCEPTED.value,)
        with pytest.raises(InvitationClosed) as used:
            with session_for(engine) as session:
                invitations.peek(session, token, utcnow())  # single use
        assert used.value.status is InvitationStatus.ACCEPTED

        await mailbox.set_smtp_mode_async("accept")
        await env.sleep(timedelta(minutes=11))  # the mail backoff is capped at 10 minutes
        notice = await mailbox.wait_for_async(to=admin.email, subject_contains=ACCEPTED_SUBJECT, timeout=30)
        assert colleague.login in str(notice["Text"]) and "7701-000101" in str(notice["Text"])
        result: InvitationResult = await handle.result()
        assert result.stage is InvitationStage.ACCEPTED and result.accepted_login == colleague.login
        assert result.emails_sent == 1

        details = await _details(handle)
        assert "**Приглашение принято**" in details
        assert f"пользователем {colleague.login}: выдан доступ к договорам № " in details
        assert "Администратору отправлено письмо «Приглашение принято»" in details
        attributes = (await handle.describe()).typed_search_attributes
        assert attributes.get(LKK_LOGIN) == admin.login
        assert attributes.get(LKK_STAGE) == InvitationStage.ACCEPTED.value
        assert sorted(attributes.get(LKK_CONTRACTS) or []) == ["7701-000101", "7701-000103"]
        actions = audit_actions(engine, NUMBER)
        assert (AuditAction.INVITED, admin.login, colleague.email) in actions
        assert (AuditAction.ACCEPTED, colleague.login, colleague.login) in actions

        history = history_text((await handle.fetch_history()).to_json_dict())
        for secret in (token, colleague.email, admin.email, "Иванова"):
            assert secret not in history


async def test_unaccepted_invitation_expires_after_its_ttl(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    env = time_skipping_env
    assert settings.invitation_ttl_seconds == 72 * 3600
    load_registry(engine)
    async with running_worker(env.client, settings) as worker_settings:
        ctx = context(worker_settings, engine, env.client)
        admin = await _admin(ctx, mailsink, engine, OPEN_LEGAL)
        email = f"late-{admin.login}@example.ru"
        handle = await invite(env.client, engine, worker_settings, admin.account.id, admin.login, email, [NUMBER])
        token = _token((await invitation_letters(mailsink.mailbox, email))[0])

        await env.sleep(timedelta(hours=71))
        assert (await handle.query(InvitationWorkflow.state)).stage is InvitationStage.PENDING  # not an hour early
        await env.sleep(timedelta(hours=1, minutes=1))
        result = await handle.result()
        assert result.stage is InvitationStage.EXPIRED and result.emails_sent == 1

        invitation_id = handle.id.removeprefix("invitation-")
        assert invitation_row(engine, invitation_id).status == InvitationStatus.EXPIRED
        assert (AuditAction.INVITATION_EXPIRED, None, email) in audit_actions(engine, NUMBER)
        with pytest.raises(InvitationClosed) as closed:
            with session_for(engine) as session:
                invitations.peek(session, token, utcnow())
        assert closed.value.status is InvitationStatus.EXPIRED
        assert (await handle.describe()).typed_search_attributes.get(LKK_STAGE) == InvitationStage.EXPIRED.value
        details = await _details(handle)
        assert "**Срок приглашения истёк**" in details and "ссылка больше не действует" in details


async def test_resend_has_cooldown_and_limit_and_kills_older_links(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    env, mailbox = time_skipping_env, mailsink.mailbox
    load_registry(engine)
    async with running_worker(env.client, settings) as worker_settings:
        ctx = context(worker_settings, engine, env.client)
        admin = await _admin(ctx, mailsink, engine, OPEN_LEGAL)
        email = f"resend-{admin.login}@example.ru"
        handle = await invite(env.client, engine, worker_settings, admin.account.id, admin.login, email, [NUMBER])
        first = _token((await invitation_letters(mailbox, email))[0])

        with pytest.raises(WorkflowUpdateFailedError) as too_soon:
            await handle.execute_update(InvitationWorkflow.resend, _resend(admin))
        assert ResendCooldown.matches(too_soon.value.cause)
        assert 0 < ResendCooldown.retry_after_seconds(too_soon.value.cause) <= 61

        cooldown = timedelta(seconds=settings.invitation_resend_cooldown_seconds + 1)
        for n in range(1, settings.invitation_max_resends + 1):
            await env.sleep(cooldown)
            accepted = await handle.execute_update(InvitationWorkflow.resend, _resend(admin))
            assert accepted.resends_left == settings.invitation_max_resends - n
            await invitation_letters(mailbox, email, count=1 + n)
        await env.sleep(cooldown)
        with pytest.raises(WorkflowUpdateFailedError) as used_up:
            await handle.execute_update(InvitationWorkflow.resend, _resend(admin))
        assert ResendLimit.matches(used_up.value.cause)

        letters = await invitation_letters(mailbox, email, count=1 + settings.invitation_max_resends)
        newest = _token(letters[-1])
        with session_for(engine) as session:
            with pytest.raises(InvitationNotFound):
                invitations.peek(session, first, utcnow())  # a re-send kills the older links
            assert invitations.peek(session, newest, utcnow()).email == email
        state = await handle.query(InvitationWorkflow.state)
        assert state.stage is InvitationStage.PENDING and state.resends_left == 0
        assert state.emails_sent == 1 + settings.invitation_max_resends
        resent = [a for a in audit_actions(engine, NUMBER) if a[0] is AuditAction.RESENT]
        assert resent == [(AuditAction.RESENT, admin.login, email)] * settings.invitation_max_resends
        assert f"Администратор {admin.login} запросил повторное письмо" in await _details(handle)


async def test_accept_and_revoke_at_the_same_moment_give_exactly_one_outcome(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    """The run starts and both updates wait while no worker runs, so the first workflow
    task delivers both: both validators pass, both activities race in the database, and
    one conditional UPDATE wins."""
    env = time_skipping_env
    load_registry(engine)
    async with running_worker(env.client, settings) as worker_settings:
        ctx = context(worker_settings, engine, env.client)
        admin = await _admin(ctx, mailsink, engine, OPEN_LEGAL)
        colleague = await confirmed_cabinet(ctx, mailsink, engine, "race")
    queue = f"race-{colleague.login}"
    held = worker_settings.model_copy(update={"temporal_task_queue": queue})
    handle = await invite(env.client, engine, held, admin.account.id, admin.login, colleague.email, [NUMBER])
    accept = asyncio.create_task(handle.execute_update(InvitationWorkflow.accept, _accept(colleague)))
    revoke = asyncio.create_task(handle.execute_update(InvitationWorkflow.revoke, _actor(admin)))
    await asyncio.sleep(1.0)  # both are waiting at the server
    assert not accept.done() and not revoke.done()

    async with running_worker(env.client, settings, task_queue=queue):
        accepted, revoked = await asyncio.gather(accept, revoke)
        assert accepted.accepted != revoked.revoked, (accepted, revoked)  # exactly one
        winner = InvitationStatus.ACCEPTED if accepted.accepted else InvitationStatus.REVOKED
        assert accepted.status == revoked.status == winner.value  # the loser was told what won
        result = await handle.result()
        details = await _details(handle)  # a query needs a worker

    invitation_id = handle.id.removeprefix("invitation-")
    assert invitation_row(engine, invitation_id).status == winner  # the database and the workflow agree
    assert result.stage.value == f"invitation_{winner.value}"
    assert (_role(engine, colleague.account.id, NUMBER) is Role.VIEWER) == accepted.accepted
    closing = [a[0] for a in audit_actions(engine, NUMBER) if a[0] in (AuditAction.ACCEPTED, AuditAction.INVITATION_REVOKED)]
    assert closing == [AuditAction.ACCEPTED if accepted.accepted else AuditAction.INVITATION_REVOKED]
    late = "пытался отозвать приглашение" if accepted.accepted else "пытался принять приглашение"
    assert late in details  # the loser is in support's timeline too


async def test_unbinding_ends_access_and_the_pending_invitation(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, mailsink: MailSinkProcess
) -> None:
    env = time_skipping_env
    load_registry(engine)
    async with running_worker(env.client, settings) as worker_settings:
        ctx = context(worker_settings, engine, env.client)
        admin = await _admin(ctx, mailsink, engine, OPEN_LEGAL)
        member = await confirmed_cabinet(ctx, mailsink, engine, "member")
        joined = await invite(env.client, engine, worker_settings, admin.account.id, admin.login, member.email, [NUMBER])
        await invitation_letters(mailsink.mailbox, member.email)
        assert (await joined.execute_update(InvitationWorkflow.accept, _accept(member))).accepted
        assert (await joined.result()).stage is InvitationStage.ACCEPTED
        assert _role(engine, member.account.id, NUMBER) is Role.VIEWER

        waiting_email = f"waiting-{admin.login}@example.ru"
        waiting = await invite(env.client, engine, worker_settings, admin.account.id, admin.login, waiting_email, [NUMBER])
        await invitation_letters(mailsink.mailbox, waiting_email)
        # An invitation whose run never started (the API died in between): the unbinding copes.
        orphan = create_invitation(engine, worker_settings, admin.account.id, admin.login, f"o-{waiting_email}", [NUMBER])

        await contracts.unbind(ctx, admin.account, NUMBER)  # the ContractUnbinding workflow

        result = await waiting.result()
        assert result.stage is InvitationStage.REVOKED
        waiting_id = waiting.id.removeprefix("invitation-")
        assert invitation_row(engine, waiting_id).status == InvitationStatus.REVOKED
        assert invitation_row(engine, orphan.id).status == InvitationStatus.REVOKED
        assert _role(engine, member.account.id, NUMBER) is None and _role(engine, admin.account.id, NUMBER) is None
        assert "договоры, к которым оно приглашало, отвязаны" in await _details(waiting)
        actions = [a[0] for a in audit_actions(engine, NUMBER)]
        assert actions.count(AuditAction.INVITATION_REVOKED) == 2 and AuditAction.UNBOUND in actions


async def test_undeliverable_letter_closes_the_invitation_visibly(
    time_skipping_env: WorkflowEnvironment, settings: Settings, engine: Engine, smtp_switch: MailSinkProcess
) -> None:
    env, mailbox = time_skipping_env, smtp_switch.mailbox
    load_registry(engine)
    async with running_worker(env.client, settings) as worker_settings:
        ctx = context(worker_settings, engine, env.client)
        admin = await _admin(ctx, smtp_switch, engine, OPEN_LEGAL)
        email = f"nobody-{admin.login}@example.ru"
        await mailbox.set_smtp_mode_async("reject")
        handle = await invite(env.client, engine, worker_settings, admin.account.id, admin.login, email, [NUMBER])

        result = await handle.result()
        assert result.stage is InvitationStage.UNDELIVERABLE and result.emails_sent == 0
        state = await handle.query(InvitationWorkflow.state)
        assert state.mail_problem is not None and "отклонил" in state.mail_problem and "550" in state.mail_problem
        details = await _details(handle)
        assert "НЕ ОТПРАВЛЕНО" in details and "550" in details and "не доставляется" in details
        history = await handle.fetch_history()
        started = [
            e.activity_task_started_event_attributes
            for e in history.events
            if e.HasField("activity_task_started_event_attributes")
        ]
        assert [s.attempt for s in started] == [1, 1], "a 5xx is not retried; then the invitation is closed"
        invitation_id = handle.id.removeprefix("invitation-")
        assert invitation_row(engine, invitation_id).status == InvitationStatus.UNDELIVERABLE
        assert (AuditAction.INVITATION_UNDELIVERABLE, None, email) in audit_actions(engine, NUMBER)
