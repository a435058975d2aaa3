"""Company accounts: who else uses the cabinet's contracts, invitations, rights, the trail.

The rights rule is ``lkk.company.access`` (one place); the stores check it again inside
every change, so a route cannot forget it. Each database step is one unit of work
(``lkk.db.transaction``) in one thread hop, and a change and its audit rows commit together.

Invitations run as an ``Invitation`` workflow each (letter, resends, expiry, accept):
1. ``invite``: the store creates the invitation (limits, rights, audit) in one
   transaction, then the workflow starts; a failed start revokes it again (503);
2. resend / revoke / accept are updates by method reference, whose validators refuse a
   closed invitation (``InvitationNotPending``); the database decides every race
   (one conditional UPDATE), the workflow follows it;
3. accepting without an account creates an ACTIVE one with the invited e-mail first
   and deletes it again when the invitation was not accepted after all.
Role changes and revoked access need no workflow: the store does them directly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from api.deps import AppContext
from api.unavailable import ServiceUnavailable
from lkk.company import access, audit, invitations, members
from lkk.company.errors import (
    EmailMismatch,
    InvitationClosed,
    NoRights,
    ResendsUsedUp,
    ResendTooSoon,
)
from lkk.company.invitations import InvitationView
from lkk.company.models import (
    ROLE_LABELS,
    AuditPage,
    Invitation,
    InvitationCreate,
    InvitationPublic,
    InvitationStatus,
    MemberPublic,
    Role,
)
from lkk.db import transaction
from lkk.errors import FormInvalid
from lkk.logging_setup import workflow_extra
from lkk.models import Account, InvitationAcceptance, InvitedAccountCreate
from lkk.ru_numbers import to_contracts
from lkk.security.passwords import hash_password
from lkk.store import invited_accounts, web_sessions
from lkk.temporal import invitation_workflow_id
from lkk.timeutil import utcnow
from lkk.validation import email_key, field_messages
from workflows.errors import InvitationNotPending, ResendCooldown, ResendLimit
from workflows.invitation import InvitationWorkflow
from workflows.messages import (
    AcceptInvitationRequest,
    InvitationInput,
    InvitationResendAccepted,
    InvitationStage,
    ResendInvitationRequest,
    RevokeInvitationRequest,
)
from workflows.search_attributes import LKK_CONTRACTS, LKK_LOGIN, LKK_STAGE

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# A revoked-but-pending update would otherwise hang the request on a stuck worker.
UPDATE_TIMEOUT_SECONDS = 30


class ContractUsers(BaseModel):
    """«Пользователи кабинета» for one contract: the account's own rights, and for an
    administrator who else has access and who is invited (a viewer sees only their rights)."""

    number: str
    role: Role
    members: list[MemberPublic] = []
    invitations: list[InvitationPublic] = []


class CompanyOverview(BaseModel):
    contracts: list[ContractUsers]

    @property
    def administered(self) -> list[str]:
        return [c.number for c in self.contracts if c.role is Role.ADMIN]


@dataclass(frozen=True)
class Accepted:
    """An accepted invitation: what it granted, and a login session when the account is new."""

    account_id: str
    login: str
    contract_numbers: list[str]
    session_token: str | None = None
    created: bool = False


def _client(ctx: AppContext) -> Client:
    client = ctx.live_temporal()
    if client is None:
        raise ServiceUnavailable()
    return client


async def _unit_of_work(session: Session, work: Callable[[], _T]) -> _T:
    """One thread hop: the work, then its commit (or rollback on an error)."""

    def run() -> _T:
        with transaction(session):
            return work()

    return await run_in_threadpool(run)


# --- reading ------------------------------------------------------------------------------


async def overview(session: Session, account: Account) -> CompanyOverview:
    def work() -> CompanyOverview:
        now = utcnow()
        held = access.contracts_of(session, account.id)
        admin = [binding.contract_number for binding, role in held if role is Role.ADMIN]
        listed = members.list_members(session, admin) if admin else []
        pending = invitations.pending_for(session, admin, now) if admin else []
        out = []
        for binding, role in held:
            number = binding.contract_number
            if role is Role.ADMIN:
                out.append(
                    ContractUsers(
                        number=number,
                        role=role,
                        members=[m for m in listed if m.contract_number == number],
                        invitations=[i for i in pending if number in i.contract_numbers],
                    )
                )
            else:
                out.append(ContractUsers(number=number, role=role))
        return CompanyOverview(contracts=out)

    return await _unit_of_work(session, work)


async def administered(session: Session, account: Account) -> list[str]:
    """The contracts the account may invite to; ``NoRights`` when there are none (a
    viewer, or a cabinet without contracts: the invitation form is an administrator's)."""
    numbers = await _unit_of_work(session, lambda: access.administered(session, account.id))
    if not numbers:
        raise NoRights()
    return numbers


async def audit_page(ctx: AppContext, session: Session, account: Account, page: int) -> AuditPage:
    """«Журнал действий»: administrators only."""
    await administered(session, account)
    per_page = ctx.settings.audit_page_size
    return await _unit_of_work(session, lambda: audit.page_for(session, account.id, page, per_page))


# --- invitations ----------------------------------------------------------------------------


async def invite(ctx: AppContext, session: Session, account: Account, form: InvitationCreate) -> InvitationPublic:
    """Create the invitation and start its workflow (which sends the letter)."""
    client = _client(ctx)  # Temporal down: refuse before anything is kept
    settings = ctx.settings
    created = await _unit_of_work(
        session, lambda: invitations.create(session, account.id, account.login, form, settings, utcnow())
    )
    workflow_id = invitation_workflow_id(created.id)
    try:
        await client.start_workflow(
            InvitationWorkflow.run,
            InvitationInput(
                invitation_id=created.id,
                inviter_login=account.login,
                contract_numbers=list(created.contract_numbers),
                ttl_seconds=settings.invitation_ttl_seconds,
                resend_cooldown_seconds=settings.invitation_resend_cooldown_seconds,
                max_resends=settings.invitation_max_resends,
            ),
            id=workflow_id,
            task_queue=settings.temporal_task_queue,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(LKK_LOGIN, account.login),
                    SearchAttributePair(LKK_STAGE, InvitationStage.PENDING.value),
                    SearchAttributePair(LKK_CONTRACTS, list(created.contract_numbers)),
                ]
            ),
            static_summary=f"Приглашение пользователя к {to_contracts(created.contract_numbers)} "
            f"({account.login}, права «{ROLE_LABELS[created.role]}»)",
        )
    except Exception:
        log.exception("could not start invitation %s; revoking it", created.id, extra=workflow_extra(workflow_id))
        await _unit_of_work(
            session,
            lambda: invitations.close(
                session, created.id, InvitationStatus.REVOKED, utcnow(), account.id, account.login
            ),
        )
        raise ServiceUnavailable() from None
    log.info("invitation %s started", created.id, extra=workflow_extra(workflow_id))
    return created


async def _managed(session: Session, account: Account, invitation_id: str) -> Invitation:
    """The invitation if the account administers one of its contracts; ``NoRights`` for a
    colleague who only views them, ``InvitationNotFound`` for anyone else."""

    return await _unit_of_work(session, lambda: invitations.managed(session, account.id, invitation_id))


def _closed(stage: object) -> InvitationClosed:
    """A stage or status that is not pending; "pending" after a lost accept means its time ran out."""
    try:
        status = InvitationStatus(str(stage).removeprefix("invitation_"))
    except ValueError:
        status = InvitationStatus.REVOKED
    return InvitationClosed(InvitationStatus.EXPIRED if status is InvitationStatus.PENDING else status)


def _stage_of(error: BaseException | None) -> str:
    details = getattr(error, "details", None) or ()
    return str(details[0]) if details else ""


async def resend(
    ctx: AppContext, session: Session, account: Account, invitation_id: str
) -> InvitationResendAccepted:
    """«Отправить повторно»: the workflow's validator applies the cooldown and the maximum."""
    client = _client(ctx)
    await _managed(session, account, invitation_id)
    handle = client.get_workflow_handle(invitation_workflow_id(invitation_id))
    request = ResendInvitationRequest(actor_account_id=account.id, actor_login=account.login)
    try:
        return await handle.execute_update(InvitationWorkflow.resend, request, rpc_timeout=_rpc_timeout())
    except WorkflowUpdateFailedError as err:
        if InvitationNotPending.matches(err.cause):
            raise _closed(_stage_of(err.cause)) from None
        if ResendLimit.matches(err.cause):
            raise ResendsUsedUp() from None
        if ResendCooldown.matches(err.cause):
            raise ResendTooSoon(ResendCooldown.retry_after_seconds(err.cause)) from None
        raise _unavailable(invitation_id, err) from None
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:  # the run is over: the database says how
            await _raise_status(session, invitation_id)
        raise _unavailable(invitation_id, err) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError as err:
        raise _unavailable(invitation_id, err) from None


async def revoke_invitation(ctx: AppContext, session: Session, account: Account, invitation_id: str) -> str:
    """«Отозвать приглашение» (the invited e-mail is returned); ``InvitationClosed`` when it
    was accepted (or ended) first."""
    client = _client(ctx)
    email = (await _managed(session, account, invitation_id)).email
    handle = client.get_workflow_handle(invitation_workflow_id(invitation_id))
    request = RevokeInvitationRequest(actor_account_id=account.id, actor_login=account.login)
    try:
        result = await handle.execute_update(InvitationWorkflow.revoke, request, rpc_timeout=_rpc_timeout())
    except WorkflowUpdateFailedError as err:
        if InvitationNotPending.matches(err.cause):
            raise _closed(_stage_of(err.cause)) from None
        raise _unavailable(invitation_id, err) from None
    except RPCError as err:
        if err.status is not RPCStatusCode.NOT_FOUND:
            raise _unavailable(invitation_id, err) from None
        # No run (retention, or a start that never happened): the database alone decides.
        closed, status = await _unit_of_work(
            session,
            lambda: invitations.close(
                session, invitation_id, InvitationStatus.REVOKED, utcnow(), account.id, account.login
            ),
        )
        if not closed:
            raise InvitationClosed(status) from None
        return email
    except WorkflowUpdateRPCTimeoutOrCancelledError as err:
        raise _unavailable(invitation_id, err) from None
    if not result.revoked:
        raise _closed(result.status)
    return email


async def _raise_status(session: Session, invitation_id: str) -> None:
    """The run is gone (retention): the database says what became of the invitation."""

    def status() -> InvitationStatus | None:
        row = session.get(Invitation, invitation_id)
        return None if row is None else InvitationStatus(row.status)

    found = await _unit_of_work(session, status)
    if found is None or found is InvitationStatus.PENDING:
        raise ServiceUnavailable()
    raise InvitationClosed(found)


def _rpc_timeout() -> timedelta:
    return timedelta(seconds=UPDATE_TIMEOUT_SECONDS)


def _unavailable(invitation_id: str, err: BaseException) -> ServiceUnavailable:
    log.warning(
        "invitation %s: update not completed: %s",
        invitation_id,
        type(err).__name__,
        extra=workflow_extra(invitation_workflow_id(invitation_id)),
    )
    return ServiceUnavailable()


# --- accepting --------------------------------------------------------------------------------


async def peek(session: Session, token: str) -> InvitationView:
    """What the link offers (nothing changes: a plain GET of the link has no effect)."""
    return await _unit_of_work(session, lambda: invitations.peek(session, token, utcnow()))


def new_account_fields(ctx: AppContext, body: InvitationAcceptance) -> InvitedAccountCreate:
    """The new account's fields as ``InvitedAccountCreate`` checks them; every mistake at once."""
    data = body.model_dump(exclude={"token"})
    try:
        return InvitedAccountCreate.model_validate(data, context={"settings": ctx.settings})
    except ValidationError as exc:
        raise FormInvalid(field_messages(exc.errors())) from None


async def accept(
    ctx: AppContext, session: Session, account: Account | None, body: InvitationAcceptance
) -> Accepted:
    """Accept into the logged-in account (same e-mail only), or into a new active account."""
    client = _client(ctx)
    view = await peek(session, body.token)
    created = False
    if account is not None:
        if email_key(account.email) != email_key(view.email):
            raise EmailMismatch()
        target_id, login = account.id, account.login
    else:
        fields = new_account_fields(ctx, body)
        target = await run_in_threadpool(_create_account, ctx, session, fields, view.email)
        target_id, login, created = target.id, target.login, True
    handle = client.get_workflow_handle(invitation_workflow_id(view.id))
    accepted = False
    try:
        try:
            result = await handle.execute_update(
                InvitationWorkflow.accept,
                AcceptInvitationRequest(account_id=target_id, login=login),
                rpc_timeout=_rpc_timeout(),
            )
        except WorkflowUpdateFailedError as err:
            if InvitationNotPending.matches(err.cause):
                raise _closed(_stage_of(err.cause)) from None
            raise _unavailable(view.id, err) from None
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                await _raise_status(session, view.id)
            raise _unavailable(view.id, err) from None
        except WorkflowUpdateRPCTimeoutOrCancelledError as err:
            raise _unavailable(view.id, err) from None
        if not result.accepted:
            raise _closed(result.status)
        accepted = True
    finally:
        # An update whose answer was lost may still have granted: the database says.
        if created and not accepted and not await _accepted_by(session, view.id, target_id):
            await run_in_threadpool(invited_accounts.discard, session, target_id)
    token = None
    if created:
        token = await run_in_threadpool(web_sessions.open_session, session, ctx.settings, target_id, now=utcnow())
    log.info("invitation %s accepted", view.id, extra=workflow_extra(invitation_workflow_id(view.id)))
    return Accepted(target_id, login, list(result.contract_numbers), token, created)


async def _accepted_by(session: Session, invitation_id: str, account_id: str) -> bool:
    def work() -> bool:
        row = session.get(Invitation, invitation_id)
        return row is not None and row.accepted_account_id == account_id

    return await _unit_of_work(session, work)


def _create_account(ctx: AppContext, session: Session, fields: InvitedAccountCreate, email: str) -> Account:
    """In a thread: the argon2 hash (CPU-bound), then the active account."""
    password_hash = hash_password(ctx.settings, fields.password)
    return invited_accounts.create_active(session, fields, email, password_hash, now=utcnow())


# --- rights -------------------------------------------------------------------------------------


async def change_role(session: Session, account: Account, number: str, member_login: str, role: Role) -> MemberPublic:
    return await _unit_of_work(
        session, lambda: members.change_role(session, account.id, account.login, number, member_login, role, utcnow())
    )


async def revoke_access(session: Session, account: Account, number: str, member_login: str) -> None:
    """«Отозвать доступ»: effective at the colleague's next request (rights are read per request)."""
    await _unit_of_work(
        session, lambda: members.revoke_access(session, account.id, account.login, number, member_login, utcnow())
    )
