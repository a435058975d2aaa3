"""Schema migrations (Alembic) as functions: the CLI, the embedded stack and tests use these.

``upgrade`` brings a database to the newest revision; ``pending_changes`` lists how the
migrated schema differs from the models (what ``alembic check`` reports), so a model
change without a migration fails the test suite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlmodel import SQLModel

from lkk.db import import_models, make_engine

ROOT = Path(__file__).resolve().parents[1]
ALEMBIC_INI = ROOT / "alembic.ini"


def alembic_config(database_url: str) -> Config:
    config = Config(str(ALEMBIC_INI))
    # Alembic's ini interpolation treats % specially; URLs may contain %-escapes.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(database_url: str) -> str | None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def pending_changes(database_url: str, metadata: MetaData | None = None) -> list[Any]:
    """Differences between the database's schema and the models (empty: in sync)."""
    import_models()
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata if metadata is not None else SQLModel.metadata))
    finally:
        engine.dispose()


def new_revision(database_url: str, message: str) -> None:
    """Autogenerate a migration from the models against a database at head (review it!)."""
    command.revision(alembic_config(database_url), message=message, autogenerate=True)
