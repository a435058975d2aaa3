"""Which databases the suite runs on. Every test that takes ``db_url`` (or ``settings``,
``engine``) runs on SQLite and, when ``LKK_TEST_POSTGRES_URL`` is set, on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from lkk.db import make_engine
from tests.conftest import POSTGRES_SKIP_REASON, fresh_postgres_database, postgres_server_url


def test_postgresql_leg_is_configured() -> None:
    """Skipped (once, with the how-to) when no server is configured; when one is, it
    must answer, and a test database is really created and dropped on it."""
    server_url = postgres_server_url()
    if server_url is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    with fresh_postgres_database(server_url) as url:
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                version = connection.execute(text("SHOW server_version_num")).scalar_one()
                name = connection.execute(text("SELECT current_database()")).scalar_one()
        finally:
            engine.dispose()
        assert int(version) >= 120000, "PostgreSQL 12 or newer"
        assert name.startswith("lkk_test_")
    admin = make_engine(server_url)
    try:
        with admin.connect() as connection:
            left = connection.execute(text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}).scalar_one()
    finally:
        admin.dispose()
    assert left == 0, "the per-test database is dropped afterwards"
