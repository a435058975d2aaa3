"""Database operations, one module per aggregate.

Every public function takes the caller's ``Session`` and is one transaction on it
(``transaction``): it commits before it returns, or rolls back and raises. So a service
runs several of them, with the CPU work between, in one thread hop, and the commits,
locks and races are those of one function each, as if each had its own session.
The API gets its session per request (``api.deps.DbSession``); an activity opens one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlmodel import Session


def session_for(engine: Engine) -> Session:
    """A session for the store functions (an activity's, a test's, a command's)."""
    return Session(engine, expire_on_commit=False)


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """One unit of work on ``session``: it starts from what the database holds (objects of
    earlier units are detached, as from a closed session, and keep their values), commits
    on success and rolls back on any error."""
    session.expire_on_commit = False  # what a unit returns stays readable after its commit
    if session.in_transaction():
        session.commit()  # a read outside any unit: end it here, never carry it into this one
    session.expunge_all()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
