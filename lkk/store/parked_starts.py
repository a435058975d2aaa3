"""Recovery requests and "password changed" notices parked while Temporal is
unreachable (an outbox).

A «Сбросить пароль» request must not be lost to a Temporal restart, and the form's
answer must stay the same whether or not the pair matched; so a matching request
that cannot start its workflow is written here, and the API starts it later
(``api.services.passwords.deliver_parked``). Only the account id is kept:
no secret waits in the table. A password changed during an outage (the Profile
needs only the database) must still be told to its owner: its notice waits here too.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlmodel import Session

from lkk.models import ParkedPasswordNotice, ParkedPasswordReset
from lkk.store import transaction
from lkk.timeutil import as_utc


def park(session: Session, account_id: str, *, now: datetime) -> None:
    """Record the request; a second one for the same account joins the first."""
    with transaction(session):
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        statement = insert(ParkedPasswordReset).values(account_id=account_id, requested_at=now)
        session.execute(statement.on_conflict_do_nothing(index_elements=["account_id"]))


def parked(session: Session, limit: int = 100) -> list[str]:
    """Account ids waiting for their recovery to start, oldest first."""
    with transaction(session):
        query = select(ParkedPasswordReset.account_id).order_by(ParkedPasswordReset.requested_at).limit(limit)
        return list(session.execute(query).scalars())


def started(session: Session, account_id: str) -> None:
    with transaction(session):
        session.execute(delete(ParkedPasswordReset).where(ParkedPasswordReset.account_id == account_id))


@dataclass(frozen=True)
class ParkedNotice:
    id: int
    account_id: str
    reason: str
    changed_at: datetime
    nonce: str


def park_notice(session: Session, account_id: str, reason: str, *, changed_at: datetime) -> None:
    """Record a "password changed" notice that could not start (every change gets one)."""
    with transaction(session):
        nonce = secrets.token_hex(8)  # not the row id: SQLite may reuse a deleted one
        session.add(ParkedPasswordNotice(account_id=account_id, reason=reason, changed_at=changed_at, nonce=nonce))


def parked_notices(session: Session, limit: int = 100) -> list[ParkedNotice]:
    with transaction(session):
        rows = session.execute(select(ParkedPasswordNotice).order_by(ParkedPasswordNotice.id).limit(limit)).scalars()
        return [ParkedNotice(row.id or 0, row.account_id, row.reason, as_utc(row.changed_at), row.nonce) for row in rows]


def notice_started(session: Session, notice_id: int) -> None:
    with transaction(session):
        session.execute(delete(ParkedPasswordNotice).where(ParkedPasswordNotice.id == notice_id))
