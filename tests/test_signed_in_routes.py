"""One rule keeps strangers out of the cabinet (``api.deps``): a page takes
``CabinetAccount`` (others are redirected), a JSON route ``SignedIn`` (others get 401).

The first test reads the app's route table, so a new cabinet route that forgets the rule
fails here; the second asks every such page over real HTTP, as a stranger and as an
account that must first choose a new password after a recovery."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import update
from sqlalchemy.engine import Engine

from api import deps
from api.main import create_app
from lkk.db import session_scope
from lkk.models import Account
from lkk.settings import Settings
from tests.harness import PASSWORD, unique_login
from tests.web import log_in, make_active_account, web_client

# Routes a stranger may use; every other route under these prefixes needs the rule.
CABINET_PAGES = "/profile"
CABINET_API = ("/api/v1/contracts", "/api/v1/company", "/api/v1/invitations", "/api/v1/audit", "/api/v1/members")
OPEN_TO_STRANGERS = {"/api/v1/invitations/accept"}  # a colleague without an account yet


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        elif isinstance(route, APIRoute):
            yield route


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(sub.call is call or _depends_on(sub, call) for sub in dependant.dependencies)


def _cabinet_routes(settings: Settings) -> tuple[list[APIRoute], list[APIRoute]]:
    routes = list(_routes(create_app(settings).routes))
    pages = [r for r in routes if r.path.startswith(CABINET_PAGES)]
    api = [r for r in routes if r.path.startswith(CABINET_API) and r.path not in OPEN_TO_STRANGERS]
    return pages, api


def test_every_cabinet_route_takes_the_signed_in_rule(settings: Settings) -> None:
    pages, api = _cabinet_routes(settings)
    assert len(pages) >= 10 and len(api) >= 5, "the prefixes no longer find the cabinet's routes"
    assert [r.path for r in pages if not _depends_on(r.dependant, deps._page_account)] == []
    assert [r.path for r in api if not _depends_on(r.dependant, deps._api_account)] == []


@pytest.mark.asyncio
async def test_cabinet_pages_send_strangers_to_login_and_a_recovered_account_to_a_new_password(
    settings: Settings, engine: Engine
) -> None:
    pages, api = _cabinet_routes(settings)
    get_pages = sorted({r.path for r in pages if "GET" in r.methods})
    assert "/profile" in get_pages and "/profile/invite" in get_pages
    login = unique_login("gate")
    account_id = make_active_account(engine, settings, login, PASSWORD)
    async with web_client(settings, engine) as stranger, web_client(settings, engine) as recovered:
        for path in get_pages:
            answer = await stranger.get(path)
            assert (answer.status_code, answer.headers.get("location")) == (303, "/login"), path
        for route in api:
            method = sorted(route.methods)[0]
            answer = await stranger.request(method, re.sub(r"\{[^}]+\}", "x", route.path), json={})
            assert answer.status_code == 401, (method, route.path, answer.text)
            assert answer.json()["detail"] == "Войдите в личный кабинет."

        assert (await log_in(recovered, login, PASSWORD)).status_code == 303
        assert (await recovered.get("/profile")).status_code == 200
        with session_scope(engine) as session:
            session.exec(update(Account).where(Account.id == account_id).values(must_change_password=True))
        for path in get_pages:
            answer = await recovered.get(path)
            assert (answer.status_code, answer.headers.get("location")) == (303, "/password/set"), path
        contracts = await recovered.get("/api/v1/contracts")
        assert contracts.status_code == 401
