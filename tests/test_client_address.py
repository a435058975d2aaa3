"""The per-address limits key on the client's real address: X-Forwarded-For counts only
when a trusted proxy (LKK_TRUSTED_PROXIES) appended it, read from the right."""

from __future__ import annotations

import secrets

import httpx
import pytest
from sqlalchemy.engine import Engine

from lkk.settings import Settings
from tests.web import web_client

pytestmark = pytest.mark.asyncio

LIMIT = 3  # recovery requests per minute per address in these tests


def _random_ip() -> str:
    return "198.18." + ".".join(str(secrets.randbelow(256)) for _ in range(2))


async def _recover(web: httpx.AsyncClient, forwarded_for: str | None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    answer = await web.post("/api/v1/password-resets", json={"login": "nobody", "email": "nobody@example.ru"}, headers=headers)
    return answer.status_code


def _limited(settings: Settings, trusted_proxies: str) -> Settings:
    return settings.model_copy(
        update={
            "trusted_proxies": trusted_proxies,
            "rate_limit_password_reset": f"{LIMIT}/minute",
            "password_reset_min_response_ms": 0,
        }
    )


@pytest.mark.parametrize("trusted_proxies", ["", "10.0.0.0/8"], ids=["nothing-trusted", "peer-not-trusted"])
async def test_direct_client_cannot_dodge_the_limit_with_x_forwarded_for(
    settings: Settings, engine: Engine, trusted_proxies: str
) -> None:
    config = _limited(settings, trusted_proxies)
    async with web_client(config, engine, ip=None) as web:
        spoofed = [await _recover(web, _random_ip()) for _ in range(LIMIT + 2)]
    async with web_client(config, engine, ip=None) as web:
        plain = [await _recover(web, None) for _ in range(LIMIT + 2)]
    expected = [202] * LIMIT + [429, 429]
    assert spoofed == expected, "a random header per request must not open a new budget"
    assert plain == expected


async def test_header_appended_by_a_trusted_proxy_names_the_client(settings: Settings, engine: Engine) -> None:
    config = _limited(settings, "127.0.0.1")
    async with web_client(config, engine, ip=None) as proxy:
        first = [await _recover(proxy, "198.51.100.7") for _ in range(LIMIT + 1)]
        other = await _recover(proxy, "198.51.100.8")
    assert first == [202] * LIMIT + [429], "the limit counts the client named by the proxy"
    assert other == 202, "another client behind the same proxy has its own budget"


async def test_spoofed_left_entries_of_a_chain_are_ignored(settings: Settings, engine: Engine) -> None:
    # client -> balancer (10.1.2.3) -> local proxy (127.0.0.1) -> app; the client wrote the left part.
    config = _limited(settings, "127.0.0.1, 10.0.0.0/8")
    async with web_client(config, engine, ip=None) as proxy:
        chain = [await _recover(proxy, f"{_random_ip()}, {_random_ip()}, 198.51.100.9, 10.1.2.3") for _ in range(LIMIT + 1)]
        other = await _recover(proxy, f"{_random_ip()}, 198.51.100.10, 10.1.2.3")
    assert chain == [202] * LIMIT + [429], "the right-most untrusted entry is the client"
    assert other == 202
