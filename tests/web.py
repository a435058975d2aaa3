"""In-process HTTP to the real app (httpx over ASGI, same event loop as an in-process
worker), plus helpers that fill the forms the way a browser does (CSRF token included)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.engine import Engine
from temporalio.client import Client

from api.deps import AppContext
from api.main import create_app
from lkk import validation
from lkk.db import session_scope
from lkk.models import Account, AccountStatus
from lkk.security.passwords import hash_password
from lkk.settings import Settings
from lkk.store import signups
from lkk.timeutil import utcnow

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CAPTCHA = re.compile(r'name="captcha_id" value="([^"]+)"')


@asynccontextmanager
async def web_client(
    settings: Settings, engine: Engine, temporal: Client | None = None, *, ip: str = "203.0.113.10"
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    app.state.ctx = AppContext(settings=settings, engine=engine, temporal=temporal)
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://lkk.test", timeout=60) as client:
        yield client


def csrf_of(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found, f"no CSRF token on {page.request.url}"
    return found.group(1)


def captcha_of(page: httpx.Response) -> str | None:
    found = _CAPTCHA.search(page.text)
    return found.group(1) if found else None


async def post_form(client: httpx.AsyncClient, page_url: str, action: str, data: dict[str, str]) -> httpx.Response:
    """Open the page (as a browser would), then submit its form with the page's token."""
    page = await client.get(page_url)
    return await client.post(action, data={**data, "csrf_token": csrf_of(page)})


async def log_in(client: httpx.AsyncClient, username: str, password: str, captcha_answer: str = "") -> httpx.Response:
    data = {"username": username, "password": password}
    if captcha_answer:
        data["captcha_answer"] = captcha_answer
    return await post_form(client, "/login", "/login", data)


def make_active_account(engine: Engine, settings: Settings, login: str, password: str, *, email: str | None = None) -> str:
    """An active (e-mail confirmed) account straight in the database."""
    now = utcnow()
    email = email or f"{login}@example.ru"
    account_id = signups.reserve(
        engine,
        signups.NewSignup(
            login=login,
            login_key=validation.login_key(login),
            email=email,
            email_key=validation.email_key(email),
            phone=None,
            password_hash=hash_password(settings, password),
        ),
        now=now,
        claim_until=now + timedelta(minutes=5),
    )
    with session_scope(engine) as session:
        session.exec(
            update(Account)
            .where(Account.id == account_id)
            .values(status=AccountStatus.ACTIVE, activated_at=now, expires_at=None)
        )
    return account_id


def account(engine: Engine, account_id: str) -> Account:
    with session_scope(engine) as session:
        row = session.get(Account, account_id)
        assert row is not None
        return row
