"""«Журнал действий»: append-only rows, written by the store that makes the change, in
its transaction; one row per contract the action touched."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from lkk.billing.models import ContractBinding
from lkk.company.models import AuditAction, AuditEvent, AuditEventPublic, AuditPage, ContractMember, Role
from lkk.timeutil import as_utc


def record(
    session: Session,
    action: AuditAction,
    numbers: Iterable[str],
    *,
    now: datetime,
    actor_account_id: str | None,
    actor_login: str | None,
    subject: str | None = None,
    role: Role | None = None,
) -> None:
    at = as_utc(now)
    for number in dict.fromkeys(numbers):  # once per contract, in the given order
        session.add(
            AuditEvent(
                at=at,
                contract_number=number,
                action=action,
                actor_account_id=actor_account_id,
                actor_login=actor_login,
                subject=subject,
                role=role,
            )
        )
    session.flush()  # ids in write order: the page's tie-breaker for equal times


def page_for(session: Session, account_id: str, page: int, per_page: int) -> AuditPage:
    """Events of the contracts the account administers now, newest first.

    Only since the current binding: a contract unbound by one company and bound later by
    another must not show the new holder what the old one did."""
    per_page = max(1, per_page)
    visible = (
        select(AuditEvent)
        .join(ContractBinding, ContractBinding.contract_number == AuditEvent.contract_number)  # type: ignore[arg-type]
        .join(ContractMember, ContractMember.contract_number == AuditEvent.contract_number)  # type: ignore[arg-type]
        .where(
            ContractMember.account_id == account_id,
            ContractMember.role == Role.ADMIN,
            AuditEvent.at >= ContractBinding.bound_at,  # type: ignore[arg-type]
        )
    )
    total = session.exec(select(func.count()).select_from(visible.subquery())).one()
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = session.exec(
        visible.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())  # type: ignore[union-attr,attr-defined]
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    events = [
        AuditEventPublic(
            at=as_utc(e.at),
            contract_number=e.contract_number,
            action=AuditAction(e.action),
            actor_login=e.actor_login,
            subject=e.subject,
            role=Role(e.role) if e.role is not None else None,
        )
        for e in rows
    ]
    return AuditPage(events=events, page=page, pages=pages, total=total)
