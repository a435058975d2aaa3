"""Database engine and sessions.

SQLite (the embedded default) is shared by the API and the worker processes, so
it runs in WAL mode with a busy timeout; any other SQLAlchemy URL (PostgreSQL in
production) is used as it is.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

if TYPE_CHECKING:
    from lkk.settings import Settings


def make_engine(
    database_url: str, *, pool_size: int = 5, max_overflow: int = 10, sqlite_foreign_keys: bool = True
) -> Engine:
    if database_url.startswith("sqlite"):
        _ensure_sqlite_dir(database_url)
        engine = create_engine(
            database_url,
            hide_parameters=True,  # bound values (hashes) never enter error text or logs
            # No pre-ping: a file cannot drop the connection, and the ping is one more
            # statement on every checkout (a login checks out three times).
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        if not sqlite_foreign_keys:
            # Migrations rebuild SQLite tables (batch mode); with foreign keys on, dropping
            # the old copy of a parent table would cascade-delete its children's rows.
            event.listen(engine, "connect", _sqlite_no_foreign_keys)
        return engine
    # Every API replica and worker has its own pool: keep the sum under max_connections.
    # hide_parameters: bound values (password hashes, sealed codes) never enter an
    # exception's text, which Temporal stores in the history and the logs print.
    return create_engine(
        database_url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow, hide_parameters=True
    )


def engine_for(settings: "Settings") -> Engine:
    """The engine of the API or the worker, sized by the settings."""
    return make_engine(
        settings.database_url, pool_size=settings.database_pool_size, max_overflow=settings.database_max_overflow
    )


def _ensure_sqlite_dir(database_url: str) -> None:
    path = database_url.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_no_foreign_keys(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


# Every module that defines tables; Alembic and create_schema see exactly these.
MODEL_MODULES = ("lkk.models", "lkk.billing.models", "lkk.company.models")


def import_models() -> None:
    """Register every table on ``SQLModel.metadata`` (a module not written yet is skipped)."""
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name is None or not name.startswith(err.name):
                raise  # a real import error inside an existing module


def create_schema(engine: Engine) -> None:
    """Create all tables straight from the models, bypassing migrations.

    Only for throwaway databases in unit tests (fast); every real database, the
    embedded stack's included, is built by ``lkk db upgrade`` (Alembic), and
    ``tests/test_migrations.py`` proves both give the same schema.
    """
    import_models()
    SQLModel.metadata.create_all(engine)


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


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work on a session of its own."""
    with session_for(engine) as session, transaction(session):
        yield session
