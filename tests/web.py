"""Real HTTP to the real app: uvicorn on a free 127.0.0.1 port, served on the test's own
event loop (beside an in-process worker), behind a trusted proxy as in production,
plus helpers that fill the forms the way a browser does (CSRF token included)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import uvicorn
from sqlalchemy import update
from sqlalchemy.engine import Engine
from temporalio.client import Client

from api.deps import AppContext
from api.main import create_app
from lkk.db import session_scope
from lkk.models import Account, AccountStatus, SignupBase
from lkk.security.passwords import hash_password
from lkk.settings import Settings
from lkk.store import session_for, signups
from lkk.timeutil import utcnow

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CAPTCHA = re.compile(r'name="captcha_id" value="([^"]+)"')
PROXY = "127.0.0.1"  # the test client stands in for the reverse proxy when it sets `ip`


class _Server(uvicorn.Server):
    """uvicorn that says when it listens and leaves signal handling to pytest."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.listening.set()


@asynccontextmanager
async def web_client(
    settings: Settings, engine: Engine, temporal: Client | None = None, *, ip: str | None = "203.0.113.10"
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app served by uvicorn over a real socket.

    The lifespan stays off (it would connect to Temporal and build the guides): the test
    hands the app its context. ``ip`` reaches the app as in production behind the reverse
    proxy: this client plays the proxy on 127.0.0.1, which the app's settings trust
    (``LKK_TRUSTED_PROXIES``, unless the test set its own), and appends ``X-Forwarded-For``;
    the app makes it the client address (the key of the per-IP rate limits).
    ``ip=None``: a direct client, nothing trusted, no header added."""
    if ip is not None and not settings.trusted_proxies:
        settings = settings.model_copy(update={"trusted_proxies": PROXY})
    app = create_app(settings)
    app.state.ctx = AppContext(settings=settings, engine=engine, temporal=temporal)
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and
    # without it every keep-alive response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
        proxy_headers=False,  # as in the image: the app trusts proxies from its settings
        timeout_graceful_shutdown=5,
    )
    server = _Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]), name=f"web_client:{port}")
    listening = asyncio.create_task(server.listening.wait())
    try:
        await asyncio.wait({serving, listening}, return_when=asyncio.FIRST_COMPLETED)
        if not server.listening.is_set():
            try:
                serving.result()
            except BaseException as exc:  # uvicorn exits (SystemExit) on a failed start
                raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}") from exc
            raise RuntimeError(f"uvicorn stopped during start-up on 127.0.0.1:{port}")
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"X-Forwarded-For": ip} if ip else None, timeout=60
        ) as client:
            yield client
    finally:
        listening.cancel()
        server.should_exit = True
        if server.listening.is_set():
            await serving  # the graceful shutdown; re-raises if the server failed
        elif not serving.done():
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
        sock.close()


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
    with session_for(engine) as db:
        account_id = signups.reserve(
            db, SignupBase(login=login, email=email), hash_password(settings, password),
            now=now, claim_until=now + timedelta(minutes=5),
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
