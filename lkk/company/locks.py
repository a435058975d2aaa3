"""Row locks that serialise company changes, the same way on both databases.

PostgreSQL locks the row (``SELECT … FOR UPDATE``): the next writer waits, and its
later statements (READ COMMITTED) see what the first one committed. SQLite has one
writer at a time: a no-op UPDATE as the unit's first write takes the database's write
lock (waiting out the busy timeout), so the reads after it see the latest commit.
Take the locks before reading what they protect, always in the same order (the
actor's account, then contracts by number), so two units never wait on each other.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlmodel import Session

from lkk.billing.models import ContractBinding
from lkk.models import Account


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_account(session: Session, account_id: str) -> None:
    """Serialise one account's actions (an administrator's invitation burst)."""
    if _postgres(session):
        session.execute(select(Account.id).where(Account.id == account_id).with_for_update())  # type: ignore[arg-type]
    else:
        session.execute(update(Account).execution_options(synchronize_session=False).where(Account.id == account_id).values(status=Account.status))  # type: ignore[arg-type]


def lock_contracts(session: Session, numbers: Iterable[str]) -> list[str]:
    """Serialise changes to these contracts' access; returns those still bound (sorted)."""
    wanted = sorted(set(numbers))
    if not wanted:
        return []
    number = ContractBinding.contract_number
    if not _postgres(session):
        session.execute(
            update(ContractBinding).execution_options(synchronize_session=False).where(number.in_(wanted)).values(bound_at=ContractBinding.bound_at)  # type: ignore[attr-defined]
        )
    query = select(number).where(number.in_(wanted)).order_by(number)  # type: ignore[attr-defined]
    if _postgres(session):
        query = query.with_for_update()
    return list(session.execute(query).scalars())
