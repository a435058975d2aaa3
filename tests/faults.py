"""Helpers of the fault suite: processes we can kill and restart, and JSON sign-ups.

Everything here is real: the `temporal` dev server with a SQLite file (so it can be
stopped and started again without losing state), the dev SMTP sink process, and
the project's own worker/API processes from tests/stack.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from lkk.devtools.procs import temporal_dev_server_command, wait_tcp
from lkk.models import Account
from tests.conftest import CAPTCHA_TEST_ANSWER, ROOT, free_port, stop_process, wait_http
from tests.harness import PASSWORD


@dataclass
class DevServer:
    """A `temporal server start-dev` we own: it can be stopped and started on the same port and file."""

    db_file: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(temporal_dev_server_command(self.port, self.db_file), stdout=subprocess.DEVNULL)
        wait_tcp(self.port, proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


@contextmanager
def own_dev_server(tmp_path: Path) -> Iterator[DevServer]:
    server = DevServer(db_file=tmp_path / "temporal.db", port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class SinkProcess:
    """A dev SMTP sink we own: SIGKILL it, start it again on the same ports and data."""

    smtp_port: int
    http_port: int
    data_dir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "devstack.mailsink", "--smtp-port", str(self.smtp_port),
                "--http-port", str(self.http_port), "--data-dir", str(self.data_dir),
            ],
            cwd=ROOT,
        )
        wait_http(f"{self.url}/livez", proc=self.proc)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def registration_body(login: str, email: str | None = None) -> dict[str, str]:
    return {
        "login": login,
        "email": email or f"{login}@example.ru",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "captcha_id": "",
        "captcha_answer": CAPTCHA_TEST_ANSWER,
    }


def register(api: httpx.Client, login: str, email: str | None = None) -> httpx.Response:
    return api.post("/api/v1/registrations", json=registration_body(login, email))


def accounts_with_login(engine: Engine, login: str) -> list[Account]:
    with Session(engine) as session:
        return list(session.exec(select(Account).where(Account.login_key == login.casefold())).all())


def wait_until(predicate, timeout: float, interval: float = 0.2, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(interval)
