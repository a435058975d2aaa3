"""Security headers on every response (errors and refusals included), and redirects that
never take their host from the request's Host header."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from api.security_headers import HEADERS
from lkk.db import make_engine
from lkk.settings import Settings
from tests.web import csrf_of, web_client

pytestmark = pytest.mark.asyncio

HOSTILE_HOST = "evil.example"


def _assert_hardened(response: httpx.Response) -> None:
    missing = sorted(name for name in HEADERS if name.lower() not in response.headers)
    assert missing == [], f"{response.status_code} {response.request.url.path} lacks {missing}"
    assert response.headers["content-security-policy"] == HEADERS["Content-Security-Policy"]


async def test_every_answer_carries_the_security_headers(settings: Settings, engine: Engine) -> None:
    config = settings.model_copy(update={"rate_limit_password_reset": "1/minute", "password_reset_min_response_ms": 0})
    async with web_client(config, engine) as web:
        _assert_hardened(await web.get("/login"))
        not_found_page = await web.get("/no-such-page")
        assert not_found_page.status_code == 404
        _assert_hardened(not_found_page)
        not_found_api = await web.get("/api/v1/no-such-thing")
        assert not_found_api.status_code == 404
        _assert_hardened(not_found_api)
        too_large = await web.post("/register", content=b"x" * (config.max_body_bytes + 1))
        assert too_large.status_code == 413
        _assert_hardened(too_large)
        too_large_api = await web.post("/api/v1/registrations", content=b"x" * (config.max_body_bytes + 1), headers={"Content-Type": "application/json"})
        assert too_large_api.status_code == 413
        _assert_hardened(too_large_api)
        body = {"login": "nobody", "email": "nobody@example.ru"}
        assert (await web.post("/api/v1/password-resets", json=body)).status_code == 202
        limited = await web.post("/api/v1/password-resets", json=body)
        assert limited.status_code == 429
        _assert_hardened(limited)


@pytest.mark.parametrize("path", ["/", "/profile/", "/login/", "/support/"])
async def test_redirects_never_take_their_host_from_the_request(settings: Settings, engine: Engine, path: str) -> None:
    async with web_client(settings, engine) as web:
        answer = await web.get(path, headers={"Host": HOSTILE_HOST})
    assert answer.is_redirect, f"{path} answered {answer.status_code}"
    location = answer.headers["location"]
    assert HOSTILE_HOST not in location
    assert location.startswith("/") and not location.startswith("//"), location
    _assert_hardened(answer)


async def test_captcha_image_url_is_not_built_from_the_host_header(settings: Settings, engine: Engine) -> None:
    async with web_client(settings, engine) as web:
        created = await web.post("/api/v1/captcha", headers={"Host": HOSTILE_HOST})
    assert created.status_code == 201
    assert HOSTILE_HOST not in created.json()["image_url"]


async def test_api_docs_are_not_served_outside_development(settings: Settings, engine: Engine) -> None:
    """FastAPI's docs pages load unpinned CDN scripts and need the CSP lifted: never in production."""
    production = settings.model_copy(update={"environment": "production"})  # the guard is tested in test_settings
    async with web_client(production, engine) as web:
        for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
            page = await web.get(path)
            assert page.status_code == 404, path
            _assert_hardened(page)
    async with web_client(settings, engine) as web:  # development keeps them, CSP lifted only there
        docs = await web.get("/docs")
        assert docs.status_code == 200 and "content-security-policy" not in docs.headers



async def test_a_500_carries_the_security_headers_too(settings: Settings, tmp_path: Path) -> None:
    """Starlette answers unhandled errors outside every middleware; a real fault: no tables."""
    empty = make_engine(f"sqlite:///{tmp_path}/empty.db")
    try:
        async with web_client(settings, empty) as web:
            page = await web.post("/login", data={"username": "x", "password": "y", "csrf_token": csrf_of(await web.get("/login"))})
            api = await web.post("/api/v1/session", json={"login": "x", "password": "y"})
    finally:
        empty.dispose()
    for answer in (page, api):
        assert answer.status_code == 500
        _assert_hardened(answer)
