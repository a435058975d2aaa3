"""What a page says and which forms it accepts come from the server and this session:
notices are never read from the URL, CSRF pairs are bound to the session, and over
HTTPS every cookie carries the __Host- prefix."""

from __future__ import annotations

import httpx
import pytest
from fastapi import Response
from sqlalchemy.engine import Engine

from api.flash import Notice, set_flash
from lkk.settings import Settings
from tests.harness import PASSWORD, unique_login
from tests.web import csrf_of, log_in, make_active_account, web_client

pytestmark = pytest.mark.asyncio

CRAFTED = "/profile?unbound=7701-999999&bound=7701-999998&already=1&welcome=1&password_changed=1&notice=Позвоните+нам"


def _flash_cookie(settings: Settings, session_token: str, notice: Notice, number: str) -> tuple[str, str]:
    response = Response()
    set_flash(response, settings, session_token, notice, number)
    name, _, rest = response.headers["set-cookie"].partition("=")
    return name, rest.split(";", 1)[0]


async def test_a_crafted_query_string_shows_no_notice(settings: Settings, engine: Engine) -> None:
    login = unique_login()
    make_active_account(engine, settings, login, PASSWORD)
    async with web_client(settings, engine) as web:
        assert (await log_in(web, login, PASSWORD)).status_code == 303
        page = await web.get(CRAFTED)
        assert page.status_code == 200
        assert 'class="notice"' not in page.text
        for text in ("7701-999999", "7701-999998", "Добро пожаловать", "Пароль изменён", "Позвоните нам"):
            assert text not in page.text


async def test_only_the_servers_flash_for_this_session_shows_and_only_once(settings: Settings, engine: Engine) -> None:
    login = unique_login()
    make_active_account(engine, settings, login, PASSWORD)
    async with web_client(settings, engine) as web:
        assert (await log_in(web, login, PASSWORD)).status_code == 303
        session = web.cookies[settings.session_cookie_name]
        forged = settings.model_copy(update={"secret_key": "another-" + settings.secret_key})
        for planted in (
            _flash_cookie(forged, session, Notice.PASSWORD_CHANGED, ""),  # not signed with our key
            _flash_cookie(settings, "another-session", Notice.PASSWORD_CHANGED, ""),  # another session's
        ):
            web.cookies.set(*planted, domain="127.0.0.1")
            assert "Пароль изменён" not in (await web.get("/profile")).text
        web.cookies.set(*_flash_cookie(settings, session, Notice.PASSWORD_CHANGED, ""), domain="127.0.0.1")
        assert "Пароль изменён" in (await web.get("/profile")).text, "the server's own notice shows"
        assert "Пароль изменён" not in (await web.get("/profile")).text, "once"


async def _csrf_pair(web: httpx.AsyncClient, settings: Settings, page: str) -> tuple[str, str]:
    answer = await web.get(page)
    return web.cookies["lkk_csrf"], csrf_of(answer)


async def test_a_csrf_pair_from_another_session_is_refused(settings: Settings, engine: Engine) -> None:
    attacker, victim = unique_login(), unique_login()
    make_active_account(engine, settings, attacker, PASSWORD)
    make_active_account(engine, settings, victim, PASSWORD)
    async with web_client(settings, engine) as anonymous:
        anonymous_pair = await _csrf_pair(anonymous, settings, "/login")
    async with web_client(settings, engine) as web:
        assert (await log_in(web, attacker, PASSWORD)).status_code == 303
        attackers_pair = await _csrf_pair(web, settings, "/profile")
    async with web_client(settings, engine) as web:
        assert (await log_in(web, victim, PASSWORD)).status_code == 303
        victims_pair = await _csrf_pair(web, settings, "/profile")
        for cookie, token in (attackers_pair, anonymous_pair):  # planted, e.g. from a sibling subdomain
            web.cookies.set("lkk_csrf", cookie)
            refused = await web.post("/logout", data={"csrf_token": token})
            assert refused.status_code == 403, "a pair minted in another session must not work here"
        web.cookies.set("lkk_csrf", victims_pair[0])
        done = await web.post("/logout", data={"csrf_token": victims_pair[1]})
        assert done.status_code == 303, "the session's own pair works"


async def test_production_cookies_use_the_host_prefix(settings: Settings, engine: Engine) -> None:
    login = unique_login()
    make_active_account(engine, settings, login, PASSWORD)
    secure = settings.model_copy(update={"public_base_url": "https://lkk.example.ru"})
    async with web_client(secure, engine) as web:
        page = await web.get("/login")
        csrf_cookie = page.headers["set-cookie"]
        # The browser talks HTTPS to the proxy; this client talks HTTP, so cookies go back by hand.
        ok = await web.post(
            "/login",
            data={"username": login, "password": PASSWORD, "csrf_token": csrf_of(page)},
            headers={"Cookie": csrf_cookie.split(";", 1)[0]},
        )
        assert ok.status_code == 303
        session_cookie = next(c for c in ok.headers.get_list("set-cookie") if "session" in c)
        for cookie in (csrf_cookie, session_cookie):
            assert cookie.startswith("__Host-lkk_"), cookie
            attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
            assert "secure" in attributes and "path=/" in attributes
            assert not any(a.startswith("domain=") for a in attributes)
        name, _, rest = session_cookie.partition("=")
        token = rest.split(";", 1)[0]
        inside = await web.get("/profile", headers={"Cookie": f"{name}={token}"})
        assert inside.status_code == 200 and login in inside.text
        # The same token under the bare name (what a sibling subdomain can set) is not read.
        planted = await web.get("/profile", headers={"Cookie": f"{secure.session_cookie_name}={token}"})
        assert planted.status_code == 303 and planted.headers["location"] == "/login"
