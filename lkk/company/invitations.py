"""Invitations to a company's contracts: created by an administrator within the limits,
a link per letter, and one way out of ``pending`` (accepted, revoked, expired,
undeliverable) decided by ONE conditional UPDATE, so whatever arrives together, the
database records exactly one outcome. The ``Invitation`` workflow follows it.

Locks (``lkk.company.locks``), always account → contracts → invitation: ``create`` locks
the administrator and the contracts before counting, so a burst never passes a limit;
``accept`` locks the contracts before the invitation, as unbinding does, so an unbinding
and an acceptance queue rather than deadlock, and nobody is granted an unbound contract.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlmodel import Session, select

from lkk.billing.models import ContractBinding
from lkk.company import access, audit, members
from lkk.company.access import require
from lkk.company.errors import (
    ContractFull,
    InvitationClosed,
    InvitationNotFound,
    NoRights,
    TooManyInvitations,
    TooManyPendingInvitations,
)
from lkk.company.locks import lock_account, lock_contracts, lock_invitation
from lkk.company.models import (
    AuditAction,
    ContractMember,
    Invitation,
    InvitationContract,
    InvitationCreate,
    InvitationPublic,
    InvitationStatus,
    Role,
)
from lkk.models import Account, AccountStatus
from lkk.security.tokens import derived_token, hash_token
from lkk.settings import CompanySettings
from lkk.timeutil import as_utc
from lkk.validation import email_key
from workflows.messages import AcceptInvitationResult

HOUR = timedelta(hours=1)

_CLOSING: dict[InvitationStatus, AuditAction] = {
    InvitationStatus.REVOKED: AuditAction.INVITATION_REVOKED,
    InvitationStatus.EXPIRED: AuditAction.INVITATION_EXPIRED,
    InvitationStatus.UNDELIVERABLE: AuditAction.INVITATION_UNDELIVERABLE,
}


@dataclass(frozen=True)
class IssuedInvitation:
    """What the letter needs; ``token`` is the link's secret (only its hash is stored)."""

    token: str
    email: str
    full_name: str | None
    inviter_login: str
    role: Role
    contract_numbers: list[str]
    expires_at: datetime


@dataclass(frozen=True)
class InvitationView:
    """The invitation as its link's holder sees it («Принять приглашение»)."""

    id: str
    email: str
    full_name: str | None
    role: Role
    contract_numbers: list[str]
    inviter_login: str
    expires_at: datetime
    account_exists: bool  # an active account has this e-mail: log in, then accept


@dataclass(frozen=True)
class InviterNotice:
    """The «приглашение принято» letter to the inviting administrator."""

    inviter_email: str
    inviter_login: str
    colleague_login: str
    role: Role
    contract_numbers: list[str]


def create(
    session: Session,
    actor_id: str,
    actor_login: str,
    form: InvitationCreate,
    limits: CompanySettings,
    now: datetime,
) -> InvitationPublic:
    numbers = list(form.contract_numbers)  # at least one, each once: ``ChosenContracts``
    now = as_utc(now)
    lock_account(session, actor_id)
    lock_contracts(session, numbers)
    for number in numbers:
        require(session, actor_id, number, Role.ADMIN)
    _check_limits(session, actor_id, numbers, limits, now)

    invitation = Invitation(
        id=uuid.uuid4().hex,
        email=form.email,
        full_name=form.full_name,
        role=form.role,
        email_key=email_key(form.email),
        inviter_account_id=actor_id,
        status=InvitationStatus.PENDING,
        token_hash=None,
        created_at=now,
        expires_at=now + timedelta(seconds=limits.invitation_ttl_seconds),
        emails_sent=0,
    )
    session.add(invitation)
    session.flush()
    session.add_all(InvitationContract(invitation_id=invitation.id, contract_number=n) for n in numbers)
    audit.record(
        session,
        AuditAction.INVITED,
        numbers,
        now=now,
        actor_account_id=actor_id,
        actor_login=actor_login,
        subject=invitation.email,
        role=form.role,
    )
    return _public(invitation, numbers)


def _check_limits(
    session: Session, actor_id: str, numbers: Sequence[str], limits: CompanySettings, now: datetime
) -> None:
    """Counted under the locks ``create`` holds; a pending invitation past its expiry no longer counts."""
    live = (Invitation.status == InvitationStatus.PENDING, Invitation.expires_at > now)  # type: ignore[operator]
    for number in numbers:
        users = session.exec(select(func.count()).where(ContractMember.contract_number == number)).one()
        invited = session.exec(
            select(func.count())
            .select_from(InvitationContract)
            .join(Invitation, Invitation.id == InvitationContract.invitation_id)  # type: ignore[arg-type]
            .where(InvitationContract.contract_number == number, *live)
        ).one()
        if users + invited >= limits.max_users_per_contract:
            raise ContractFull(number, limits.max_users_per_contract)
    pending = session.exec(select(func.count()).where(Invitation.inviter_account_id == actor_id, *live)).one()
    if pending >= limits.max_pending_invitations_per_admin:
        raise TooManyPendingInvitations(limits.max_pending_invitations_per_admin)
    limit = limits.max_invitations_per_hour_per_admin
    recent = [
        as_utc(at)
        for at in session.exec(
            select(Invitation.created_at)
            .where(Invitation.inviter_account_id == actor_id, Invitation.created_at > now - HOUR)  # type: ignore[operator]
            .order_by(Invitation.created_at)  # type: ignore[arg-type]
        ).all()
    ]
    if len(recent) >= limit:
        # One more fits once enough of the oldest leave the 60-minute window.
        leaves = recent[len(recent) - limit] + HOUR if limit > 0 else now + HOUR
        raise TooManyInvitations(max(1, math.ceil((leaves - now).total_seconds())))


def issue_link(
    session: Session,
    invitation_id: str,
    seq: int,
    now: datetime,
    resent_by_account_id: str | None = None,
    resent_by_login: str | None = None,
    *,
    secret_key: str,
) -> IssuedInvitation | None:
    """The link of letter number ``seq`` (older letters' links stop working); None once
    the invitation is no longer pending or has expired. The token is derived from the
    secret, the invitation and ``seq``: a retried send (the SMTP server may have taken
    the first copy before a crash) mails the same link, which stays valid."""
    now = as_utc(now)
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.status != InvitationStatus.PENDING or as_utc(invitation.expires_at) <= now:
        return None
    first_try = invitation.emails_sent < seq + 1  # a retried activity records its re-send once
    token = derived_token(secret_key, "invitation", invitation_id, str(seq))
    result = session.execute(
        update(Invitation).execution_options(synchronize_session=False)
        .where(
            Invitation.id == invitation_id,  # type: ignore[arg-type]
            Invitation.status == InvitationStatus.PENDING,  # type: ignore[arg-type]
            Invitation.expires_at > now,  # type: ignore[arg-type,operator]
        )
        .values(token_hash=hash_token(token), emails_sent=seq + 1)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    numbers = _numbers(session, invitation_id)
    if seq > 0 and first_try:
        audit.record(
            session,
            AuditAction.RESENT,
            numbers,
            now=now,
            actor_account_id=resent_by_account_id,
            actor_login=resent_by_login,
            subject=invitation.email,
            role=Role(invitation.role),
        )
    return IssuedInvitation(
        token=token,
        email=invitation.email,
        full_name=invitation.full_name,
        inviter_login=_login(session, invitation.inviter_account_id),
        role=Role(invitation.role),
        contract_numbers=numbers,
        expires_at=as_utc(invitation.expires_at),
    )


def peek(session: Session, token: str, now: datetime) -> InvitationView:
    """What a link shows; a link that can no longer be used says why."""
    invitation = session.exec(select(Invitation).where(Invitation.token_hash == hash_token(token))).first()
    if invitation is None:
        raise InvitationNotFound()
    if invitation.status != InvitationStatus.PENDING:
        raise InvitationClosed(InvitationStatus(invitation.status))
    if as_utc(invitation.expires_at) <= as_utc(now):
        raise InvitationClosed(InvitationStatus.EXPIRED)
    account_exists = session.exec(
        select(Account.id).where(Account.email_key == invitation.email_key, Account.status == AccountStatus.ACTIVE)
    ).first()
    return InvitationView(
        id=invitation.id,
        email=invitation.email,
        full_name=invitation.full_name,
        role=Role(invitation.role),
        contract_numbers=_numbers(session, invitation.id),
        inviter_login=_login(session, invitation.inviter_account_id),
        expires_at=as_utc(invitation.expires_at),
        account_exists=account_exists is not None,
    )


def accept(session: Session, invitation_id: str, account_id: str, login: str, now: datetime) -> AcceptInvitationResult:
    """Single use: exactly one of accept / revoke / expiry wins; the winner here grants
    every contract of the invitation that is still bound."""
    now = as_utc(now)
    lock_contracts(session, _numbers(session, invitation_id))
    won = session.execute(
        update(Invitation).execution_options(synchronize_session=False)
        .where(
            Invitation.id == invitation_id,  # type: ignore[arg-type]
            Invitation.status == InvitationStatus.PENDING,  # type: ignore[arg-type]
            Invitation.expires_at > now,  # type: ignore[arg-type,operator]
        )
        .values(status=InvitationStatus.ACCEPTED, accepted_account_id=account_id, finished_at=now)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        status = _status(session, invitation_id)
        if status is InvitationStatus.PENDING:
            status = InvitationStatus.EXPIRED  # past its time: its workflow is closing it
        return AcceptInvitationResult(accepted=False, status=status.value)
    invitation = session.get(Invitation, invitation_id)
    assert invitation is not None  # just updated
    role = Role(invitation.role)
    granted = list(
        session.exec(
            select(InvitationContract.contract_number)
            .join(ContractBinding, ContractBinding.contract_number == InvitationContract.contract_number)  # type: ignore[arg-type]
            .where(InvitationContract.invitation_id == invitation_id)
            .order_by(InvitationContract.contract_number)  # type: ignore[arg-type]
        ).all()
    )
    for number in granted:
        members.grant(session, number, account_id, role, invitation.inviter_account_id, now)
    audit.record(
        session, AuditAction.ACCEPTED, granted, now=now, actor_account_id=account_id, actor_login=login,
        subject=login, role=role,
    )
    return AcceptInvitationResult(accepted=True, status=InvitationStatus.ACCEPTED.value, contract_numbers=granted)


def close(
    session: Session,
    invitation_id: str,
    status: InvitationStatus,
    now: datetime,
    actor_account_id: str | None = None,
    actor_login: str | None = None,
) -> tuple[bool, InvitationStatus]:
    """pending → ``status`` (revoked, expired, undeliverable) unless something else won
    first; returns whether this call closed it and the status it has now."""
    action = _CLOSING.get(status)
    if action is None:
        raise ValueError(f"an invitation is not closed as {status}")
    now = as_utc(now)
    won = session.execute(
        update(Invitation).execution_options(synchronize_session=False)
        .where(Invitation.id == invitation_id, Invitation.status == InvitationStatus.PENDING)  # type: ignore[arg-type]
        .values(status=status, finished_at=now)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        return False, _status(session, invitation_id)
    invitation = session.get(Invitation, invitation_id)
    assert invitation is not None  # just updated
    audit.record(
        session,
        action,
        _numbers(session, invitation_id),
        now=now,
        actor_account_id=actor_account_id,
        actor_login=actor_login,
        subject=invitation.email,
        role=Role(invitation.role),
    )
    return True, status


def managed(session: Session, actor_id: str, invitation_id: str) -> Invitation:
    """The invitation, if the actor administers at least one of its contracts; ``NoRights``
    for a colleague who only views them (as ``access.require`` answers), and
    ``InvitationNotFound`` for anyone else, or an unknown id."""
    invitation = session.get(Invitation, invitation_id)
    roles = {access.role_of(session, actor_id, number) for number in _numbers(session, invitation_id)}
    if invitation is None or roles <= {None}:
        raise InvitationNotFound()
    if Role.ADMIN not in roles:
        raise NoRights()
    return invitation


def pending_for(session: Session, numbers: Sequence[str], now: datetime) -> list[InvitationPublic]:
    """Pending, unexpired invitations to these contracts, newest first. Each lists only
    the contracts among ``numbers`` (the viewer need not learn the others)."""
    wanted = list(dict.fromkeys(numbers))
    if not wanted:
        return []
    rows = session.exec(
        select(Invitation, InvitationContract.contract_number)
        .join(InvitationContract, InvitationContract.invitation_id == Invitation.id)  # type: ignore[arg-type]
        .where(
            InvitationContract.contract_number.in_(wanted),  # type: ignore[attr-defined]
            Invitation.status == InvitationStatus.PENDING,
            Invitation.expires_at > as_utc(now),  # type: ignore[operator]
        )
        .order_by(Invitation.created_at.desc(), Invitation.id.desc(), InvitationContract.contract_number)  # type: ignore[attr-defined]
    ).all()
    found: dict[str, tuple[Invitation, list[str]]] = {}
    for invitation, number in rows:
        found.setdefault(invitation.id, (invitation, []))[1].append(number)
    return [_public(invitation, numbers_) for invitation, numbers_ in found.values()]


def withdraw_contract(
    session: Session, number: str, now: datetime, actor_account_id: str | None, actor_login: str | None
) -> list[str]:
    """The contract (being unbound) leaves every pending invitation; one left with no
    contract is revoked. Returns the ids of those revoked (their workflows are told)."""
    now = as_utc(now)
    pending = session.exec(
        select(Invitation)
        .join(InvitationContract, InvitationContract.invitation_id == Invitation.id)  # type: ignore[arg-type]
        .where(InvitationContract.contract_number == number, Invitation.status == InvitationStatus.PENDING)
        .order_by(Invitation.created_at, Invitation.id)  # type: ignore[arg-type]
    ).all()
    revoked: list[str] = []
    for invitation in pending:
        lock_invitation(session, invitation.id)  # another unbinding may be withdrawing its other contract
        if _status(session, invitation.id) is not InvitationStatus.PENDING:
            continue  # accepted or closed while we waited: that outcome stands, with its history
        others = session.exec(
            select(func.count()).where(
                InvitationContract.invitation_id == invitation.id, InvitationContract.contract_number != number
            )
        ).one()
        if others:
            session.execute(
                delete(InvitationContract).execution_options(synchronize_session=False).where(
                    InvitationContract.invitation_id == invitation.id,  # type: ignore[arg-type]
                    InvitationContract.contract_number == number,  # type: ignore[arg-type]
                )
            )
        else:
            # The last contract stays listed: a closed invitation keeps its history.
            won = session.execute(
                update(Invitation).execution_options(synchronize_session=False)
                .where(Invitation.id == invitation.id, Invitation.status == InvitationStatus.PENDING)  # type: ignore[arg-type]
                .values(status=InvitationStatus.REVOKED, finished_at=now)
            )
            if won.rowcount != 1:  # type: ignore[attr-defined]
                continue  # accepted or closed a moment earlier: that outcome stands
            revoked.append(invitation.id)
        audit.record(
            session,
            AuditAction.INVITATION_REVOKED,
            [number],
            now=now,
            actor_account_id=actor_account_id,
            actor_login=actor_login,
            subject=invitation.email,
            role=Role(invitation.role),
        )
    return revoked


def inviter_notice(session: Session, invitation_id: str) -> InviterNotice | None:
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.status != InvitationStatus.ACCEPTED or invitation.accepted_account_id is None:
        return None
    inviter = session.get(Account, invitation.inviter_account_id)
    colleague = session.get(Account, invitation.accepted_account_id)
    if inviter is None or colleague is None:
        return None
    return InviterNotice(
        inviter_email=inviter.email,
        inviter_login=inviter.login,
        colleague_login=colleague.login,
        role=Role(invitation.role),
        contract_numbers=_numbers(session, invitation_id),
    )


def _numbers(session: Session, invitation_id: str) -> list[str]:
    return list(
        session.exec(
            select(InvitationContract.contract_number)
            .where(InvitationContract.invitation_id == invitation_id)
            .order_by(InvitationContract.contract_number)  # type: ignore[arg-type]
        ).all()
    )


def _status(session: Session, invitation_id: str) -> InvitationStatus:
    status = session.exec(select(Invitation.status).where(Invitation.id == invitation_id)).first()
    if status is None:
        raise InvitationNotFound()
    return InvitationStatus(status)


def _login(session: Session, account_id: str) -> str:
    login = session.exec(select(Account.login).where(Account.id == account_id)).first()
    return login or ""


def _public(invitation: Invitation, numbers: list[str]) -> InvitationPublic:
    return InvitationPublic(
        id=invitation.id,
        email=invitation.email,
        full_name=invitation.full_name,
        role=Role(invitation.role),
        contract_numbers=numbers,
        status=InvitationStatus(invitation.status),
        created_at=as_utc(invitation.created_at),
        expires_at=as_utc(invitation.expires_at),
        emails_sent=invitation.emails_sent,
    )
