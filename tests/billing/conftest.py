"""Fixtures for the billing tests: a fresh real database per test, no mocks.

SQLite file per test by default. Set ``LKK_BILLING_TEST_PG_URL`` (for example
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) to run the same tests on
PostgreSQL; each test then gets its own throw-away schema.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import quote
from uuid import uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import lkk.billing.models  # noqa: F401  (registers the billing tables)
from lkk.billing.codes import IssuedCode, issue_code
from lkk.billing.importer import import_file
from lkk.billing.registry import SqlBillingRegistry
from lkk.db import make_engine
from lkk.models import Account, AccountStatus

from .support import FAST_HASHER, NOW, SAMPLE_JSON


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    pg_url = os.environ.get("LKK_BILLING_TEST_PG_URL")
    if not pg_url:
        yield f"sqlite:///{tmp_path}/t.db"
        return
    schema = f"billing_test_{uuid4().hex[:12]}"
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_url else "?"
    try:
        yield f"{pg_url}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def registry(engine: Engine) -> SqlBillingRegistry:
    return SqlBillingRegistry(engine, hasher=FAST_HASHER)


@pytest.fixture
def sample(engine: Engine) -> Engine:
    """The engine with the sample export imported."""
    import_file(engine, SAMPLE_JSON, now=NOW)
    return engine


@pytest.fixture
def new_account(engine: Engine) -> Callable[[], str]:
    def make() -> str:
        n = uuid4().hex
        account = Account(
            login=f"user{n[:8]}",
            login_key=f"user{n}",
            email=f"{n}@example.ru",
            email_key=f"{n}@example.ru",
            password_hash="x",
            status=AccountStatus.ACTIVE,
            created_at=NOW,
        )
        with Session(engine) as session:
            session.add(account)
            session.commit()
            return account.id

    return make


@pytest.fixture
def issue(engine: Engine) -> Callable[..., IssuedCode]:
    def run(number: str, *, now: datetime = NOW, valid_days: int = 30) -> IssuedCode:
        return issue_code(engine, number, now=now, valid_days=valid_days, hasher=FAST_HASHER)

    return run
