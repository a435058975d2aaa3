"""Who has access to a bound contract, with which rights; changes to that, audited.

Changes are serialised per contract (``locks.lock_contracts`` before anything is read),
so two administrators demoting or removing each other at the same moment cannot both
succeed: the second sees the first one's change and meets the last-administrator rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, update
from sqlmodel import Session, select

from lkk.billing.identifiers import normalize_contract_number
from lkk.company import audit
from lkk.company.access import require
from lkk.company.errors import LastAdministrator, MemberNotFound
from lkk.company.locks import lock_contracts
from lkk.company.models import AuditAction, ContractMember, MemberPublic, Role
from lkk.models import Account
from lkk.timeutil import as_utc
from lkk.validation import login_key


def add_binder(session: Session, number: str, account_id: str, login: str, now: datetime) -> None:
    """The cabinet that bound the contract is its first «Администратор»."""
    now = as_utc(now)
    session.add(ContractMember(contract_number=number, account_id=account_id, role=Role.ADMIN, granted_at=now))
    audit.record(session, AuditAction.BOUND, [number], now=now, actor_account_id=account_id, actor_login=login)


def grant(session: Session, number: str, account_id: str, role: Role, granted_by: str | None, now: datetime) -> Role:
    """Give access; a member keeps the higher of its role and ``role``. Returns the role now."""
    member = session.exec(
        select(ContractMember).where(
            ContractMember.contract_number == number, ContractMember.account_id == account_id
        )
    ).first()
    if member is None:
        session.add(
            ContractMember(
                contract_number=number, account_id=account_id, role=role, granted_by=granted_by, granted_at=as_utc(now)
            )
        )
        session.flush()
        return role
    if Role(member.role) is Role.VIEWER and role is Role.ADMIN:
        member.role = Role.ADMIN
        member.granted_by = granted_by
        session.add(member)
        session.flush()
        return Role.ADMIN
    return Role(member.role)


def list_members(session: Session, numbers: Sequence[str]) -> list[MemberPublic]:
    """Members of these contracts: by contract (in the order given), admins first, then login."""
    order = {number: i for i, number in enumerate(dict.fromkeys(numbers))}
    if not order:
        return []
    rows = session.exec(
        select(ContractMember, Account.login, Account.email)
        .join(Account, Account.id == ContractMember.account_id)  # type: ignore[arg-type]
        .where(ContractMember.contract_number.in_(list(order)))  # type: ignore[attr-defined]
    ).all()
    members = [
        MemberPublic(
            contract_number=m.contract_number, login=login, email=email, role=Role(m.role), granted_at=as_utc(m.granted_at)
        )
        for m, login, email in rows
    ]
    return sorted(
        members,
        key=lambda m: (order[m.contract_number], m.role is not Role.ADMIN, login_key(m.login)),
    )


def change_role(
    session: Session, actor_id: str, actor_login: str, number: str, member_login: str, role: Role, now: datetime
) -> MemberPublic:
    number = _locked_as_admin(session, actor_id, number)
    member, login, email = _member(session, number, member_login)
    if Role(member.role) is not role:
        if role is not Role.ADMIN:
            _keep_an_administrator(session, number, member)
        session.execute(update(ContractMember).execution_options(synchronize_session=False).where(ContractMember.id == member.id).values(role=role))  # type: ignore[arg-type]
        audit.record(
            session,
            AuditAction.ROLE_CHANGED,
            [number],
            now=now,
            actor_account_id=actor_id,
            actor_login=actor_login,
            subject=login,
            role=role,
        )
    return MemberPublic(contract_number=number, login=login, email=email, role=role, granted_at=as_utc(member.granted_at))


def revoke_access(
    session: Session, actor_id: str, actor_login: str, number: str, member_login: str, now: datetime
) -> None:
    number = _locked_as_admin(session, actor_id, number)
    member, login, _ = _member(session, number, member_login)
    _keep_an_administrator(session, number, member)
    session.execute(delete(ContractMember).execution_options(synchronize_session=False).where(ContractMember.id == member.id))  # type: ignore[arg-type]
    audit.record(
        session,
        AuditAction.ACCESS_REVOKED,
        [number],
        now=now,
        actor_account_id=actor_id,
        actor_login=actor_login,
        subject=login,
        role=Role(member.role),
    )


def _locked_as_admin(session: Session, actor_id: str, number: str) -> str:
    """Lock the contract first, then check the actor's rights as they are after the wait."""
    try:
        normalized = normalize_contract_number(number)
    except ValueError:
        normalized = number  # ``require`` refuses it below
    lock_contracts(session, [normalized])
    require(session, actor_id, normalized, Role.ADMIN)
    return normalized


def _member(session: Session, number: str, member_login: str) -> tuple[ContractMember, str, str]:
    row = session.exec(
        select(ContractMember, Account.login, Account.email)
        .join(Account, Account.id == ContractMember.account_id)  # type: ignore[arg-type]
        .where(ContractMember.contract_number == number, Account.login_key == login_key(member_login))
    ).first()
    if row is None:
        raise MemberNotFound()
    return row[0], row[1], row[2]


def _keep_an_administrator(session: Session, number: str, member: ContractMember) -> None:
    """The member stops being an administrator: refuse if it is the last one."""
    if Role(member.role) is not Role.ADMIN:
        return
    admins = session.exec(
        select(func.count()).where(ContractMember.contract_number == number, ContractMember.role == Role.ADMIN)
    ).one()
    if admins <= 1:
        raise LastAdministrator()
