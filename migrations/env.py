"""Alembic environment: the app's tables (SQLModel metadata) on the configured database.

The URL comes from ``lkk.settings`` (``LKK_DATABASE_URL``) unless the caller put one
into the Alembic config (``lkk.schema`` does, for tests and the CLI). SQLite needs
"batch" mode to alter tables, so it is on for SQLite only.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from lkk.db import import_models, make_engine
from lkk.settings import get_settings

import_models()
target_metadata = SQLModel.metadata
config = context.config


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().database_url


def _configure(**kwargs: object) -> None:
    url = _url()
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
        **kwargs,  # type: ignore[arg-type]
    )


def run_migrations_offline() -> None:
    """``alembic upgrade head --sql``: print the SQL for a DBA instead of running it."""
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url(), sqlite_foreign_keys=False)
    try:
        with engine.connect() as connection:
            _configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
