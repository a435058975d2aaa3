"""Helpers of the invitation tests and recordings: an administrator with a bound contract,
and an invitation made the way the API makes it (the store's unit of work, then the
``Invitation`` run with its search attributes), so the workflow under test runs exactly
as in production."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from lkk.company import invitations
from lkk.company.models import AuditAction, AuditEvent, Invitation, InvitationCreate, InvitationPublic, Role
from lkk.db import transaction
from lkk.settings import Settings
from lkk.store import session_for
from lkk.temporal import invitation_workflow_id
from lkk.timeutil import utcnow
from tests.mailbox import Mailbox, Message
from workflows.invitation import InvitationWorkflow
from workflows.messages import InvitationInput, InvitationResult, InvitationStage
from workflows.search_attributes import LKK_CONTRACTS, LKK_LOGIN, LKK_STAGE

INVITATION_SUBJECT = "Приглашение в Личный кабинет"
ACCEPTED_SUBJECT = "Приглашение принято"


def create_invitation(
    engine: Engine,
    settings: Settings,
    admin_id: str,
    admin_login: str,
    email: str,
    numbers: Sequence[str],
    *,
    role: Role = Role.VIEWER,
    full_name: str | None = None,
) -> InvitationPublic:
    """The database side of «Отправить приглашение» only (no run)."""
    form = InvitationCreate(email=email, full_name=full_name, role=role, contract_numbers=list(numbers))
    with session_for(engine) as session, transaction(session):
        return invitations.create(session, admin_id, admin_login, form, settings, utcnow())


async def invite(
    client: Client,
    engine: Engine,
    settings: Settings,
    admin_id: str,
    admin_login: str,
    email: str,
    numbers: Sequence[str],
    *,
    role: Role = Role.VIEWER,
    full_name: str | None = None,
) -> WorkflowHandle[InvitationWorkflow, InvitationResult]:
    """«Отправить приглашение» as the API does it: the rows, then the run."""
    created = create_invitation(engine, settings, admin_id, admin_login, email, numbers, role=role, full_name=full_name)
    invitation_id, contract_numbers = created.id, list(created.contract_numbers)
    return await client.start_workflow(
        InvitationWorkflow.run,
        InvitationInput(
            invitation_id=invitation_id,
            inviter_login=admin_login,
            contract_numbers=contract_numbers,
            ttl_seconds=settings.invitation_ttl_seconds,
            resend_cooldown_seconds=settings.invitation_resend_cooldown_seconds,
            max_resends=settings.invitation_max_resends,
        ),
        id=invitation_workflow_id(invitation_id),
        task_queue=settings.temporal_task_queue,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(LKK_LOGIN, admin_login),
                SearchAttributePair(LKK_STAGE, InvitationStage.PENDING.value),
                SearchAttributePair(LKK_CONTRACTS, contract_numbers),
            ]
        ),
    )


def invitation_row(engine: Engine, invitation_id: str) -> Invitation:
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(Invitation, invitation_id)
    assert row is not None
    return row


def audit_actions(engine: Engine, number: str) -> list[tuple[AuditAction, str | None, str | None]]:
    """(action, actor login, subject) of a contract's audit rows, oldest first."""
    with Session(engine) as session:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.contract_number == number).order_by(AuditEvent.id)  # type: ignore[arg-type]
        ).all()
    return [(AuditAction(row.action), row.actor_login, row.subject) for row in rows]


async def invitation_letters(mailbox: Mailbox, email: str, count: int = 1) -> list[Message]:
    """The first ``count`` invitation letters to ``email``, oldest first."""
    return await mailbox.wait_for_all_async(to=email, subject_contains=INVITATION_SUBJECT, count=count, timeout=30)
