"""Recovery requests parked while Temporal is unreachable (an outbox).

A «Сбросить пароль» request must not be lost to a Temporal restart, and the form's
answer must stay the same whether or not the pair matched; so a matching request
that cannot start its workflow is written here, and the API starts it later
(``api.services.passwords.deliver_parked_resets``). Only the account id is kept:
no secret waits in the table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from lkk.db import session_scope
from lkk.models import ParkedPasswordReset


def park(engine: Engine, account_id: str, *, now: datetime) -> None:
    """Record the request; a second one for the same account joins the first."""
    with session_scope(engine) as session:
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        statement = insert(ParkedPasswordReset).values(account_id=account_id, requested_at=now)
        session.execute(statement.on_conflict_do_nothing(index_elements=["account_id"]))


def parked(engine: Engine, limit: int = 100) -> list[str]:
    """Account ids waiting for their recovery to start, oldest first."""
    with session_scope(engine) as session:
        query = select(ParkedPasswordReset.account_id).order_by(ParkedPasswordReset.requested_at).limit(limit)
        return list(session.execute(query).scalars())


def started(engine: Engine, account_id: str) -> None:
    with session_scope(engine) as session:
        session.execute(delete(ParkedPasswordReset).where(ParkedPasswordReset.account_id == account_id))
