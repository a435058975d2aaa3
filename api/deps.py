"""FastAPI dependencies: settings, database engine, Temporal client, current user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api.cookies import session_token_of
from api.temporal_link import TemporalLink
from lkk.errors import NotSignedIn
from lkk.models import Account
from lkk.settings import Settings
from lkk.store import web_sessions
from lkk.timeutil import utcnow


@dataclass
class AppContext:
    """What the app creates once at start-up (see ``api.main.lifespan``)."""

    settings: Settings
    engine: Engine
    temporal: Client | None = None  # a fixed client (in-process tests)
    temporal_link: TemporalLink | None = None  # the served app: connected and checked in the background

    def live_temporal(self) -> Client | None:
        """The Temporal client if Temporal is believed up, else None (answer 503 at once)."""
        if self.temporal_link is not None:
            return self.temporal_link.live_client()
        return self.temporal


def get_context(request: Request) -> AppContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


Ctx = Annotated[AppContext, Depends(get_context)]


async def get_db_session(ctx: Ctx) -> AsyncIterator[Session]:
    """One database session per request. Opening it does no I/O (the connection is
    taken on first use), so this runs on the loop; services run each unit of work
    against it in one ``run_in_threadpool`` hop and commit there."""
    with Session(ctx.engine, expire_on_commit=False) as session:
        yield session


DbSession = Annotated[Session, Depends(get_db_session)]


async def current_account(request: Request, ctx: Ctx, db: DbSession) -> Account | None:
    token = session_token_of(request, ctx.settings)
    if not token:
        return None
    return await run_in_threadpool(web_sessions.resolve, db, ctx.settings, token, now=utcnow())


CurrentAccount = Annotated[Account | None, Depends(current_account)]


class LeaveCabinet(Exception):
    """A cabinet page asked by a stranger, or before the new password that a recovery
    requires: ``api.main`` answers it with a redirect to ``location``."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def _elsewhere(account: Account | None) -> str | None:
    """The one rule of signed-in routes: where the request belongs instead, or None.
    Strangers go to the login page, an account after recovery to the new-password page."""
    if account is None:
        return "/login"
    if account.must_change_password:
        return "/password/set"
    return None


def cabinet_account(account: Account | None) -> Account:
    """A page's signed-in account; raises ``LeaveCabinet`` (a redirect) otherwise."""
    location = _elsewhere(account)
    if location is not None or account is None:
        raise LeaveCabinet(location or "/login")
    return account


async def _page_account(account: CurrentAccount) -> Account:
    return cabinet_account(account)


async def _api_account(account: CurrentAccount) -> Account:
    if account is None or _elsewhere(account) is not None:
        raise NotSignedIn()  # 401, see ``api.errors``
    return account


# The signed-in account of a page (others are redirected) and of a JSON route (others get 401).
CabinetAccount = Annotated[Account, Depends(_page_account)]
SignedIn = Annotated[Account, Depends(_api_account)]
