"""Alembic migrations are the only way a database gets its schema: they run on SQLite
and PostgreSQL, and the migrated schema equals the models. A model change without a
migration fails here (``lkk db revision -m "..."`` writes one; review it)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, String, Table, inspect
from sqlmodel import SQLModel

from lkk import schema
from lkk.db import import_models, make_engine
from tests.conftest import ROOT


def _tables(db_url: str) -> set[str]:
    engine = make_engine(db_url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_head_gives_exactly_the_models_schema(db_url: str) -> None:
    schema.upgrade(db_url)
    assert schema.current_revision(db_url) == schema.head_revision()
    assert schema.pending_changes(db_url) == [], "models changed without a migration: run `lkk db revision -m ...`"
    import_models()
    assert _tables(db_url) == set(SQLModel.metadata.tables) | {"alembic_version"}


def test_upgrade_is_idempotent_and_downgrade_reverses_it(db_url: str) -> None:
    schema.upgrade(db_url)
    schema.upgrade(db_url)  # a second replica's migrate job, or a restart: a no-op
    schema.downgrade(db_url, "base")
    assert _tables(db_url) <= {"alembic_version"}
    schema.upgrade(db_url)
    assert schema.pending_changes(db_url) == []


def test_the_drift_check_notices_a_model_without_migration(db_url: str) -> None:
    """The comparison is real: a table or column the migrations lack shows up."""
    schema.upgrade(db_url)
    import_models()
    drifted = MetaData(naming_convention=SQLModel.metadata.naming_convention)
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(drifted)
    Table("contracts_not_migrated", drifted, Column("id", Integer, primary_key=True))
    drifted.tables["accounts"].append_column(Column("nickname", String(40)))
    changes = schema.pending_changes(db_url, metadata=drifted)
    kinds = {(change[0], getattr(change[-1], "name", None)) for change in changes}
    assert kinds == {("add_table", "contracts_not_migrated"), ("add_column", "nickname")}


def test_one_linear_history() -> None:
    """Branches merged in parallel must not leave two heads (`alembic merge` them)."""
    heads = ScriptDirectory.from_config(schema.alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}"


def test_cli_upgrade_and_check(db_url: str) -> None:
    """What production's one-shot job and a deploy pipeline run."""
    # Development: the guard would refuse the SQLite leg (a real job sets production and PostgreSQL).
    env = {"PATH": "/usr/bin:/bin", "LKK_DATABASE_URL": db_url, "LKK_ENVIRONMENT": "development"}

    def lkk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "lkkctl", "db", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    before = lkk("check")
    assert before.returncode == 1 and "run `lkk db upgrade`" in before.stderr
    upgraded = lkk("upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"database at revision {schema.head_revision()}" in upgraded.stdout
    after = lkk("check")
    assert after.returncode == 0, after.stderr


@pytest.mark.parametrize("url", ["sqlite:///relative/path.db"])
def test_alembic_config_does_not_mangle_urls(url: str) -> None:
    assert schema.alembic_config(url + "?x=%41").get_main_option("sqlalchemy.url") == url + "?x=%41"
