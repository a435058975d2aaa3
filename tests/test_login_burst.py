"""Guessing limits under a concurrent burst (tests/burst.py): 30 requests on 30
connections, each held back by its last byte and released together, against one API
process over a real socket. A loop of sequential requests would pass even a limit
that reads its counter, checks the password, then writes the counter."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from sqlalchemy.engine import Engine

from lkk import validation
from lkk.settings import Settings
from lkk.store import login_throttle, session_for
from lkk.timeutil import utcnow
from tests.burst import RawResponse, burst
from tests.conftest import CAPTCHA_TEST_ANSWER
from tests.harness import PASSWORD, unique_login
from tests.web import make_active_account, web_client

pytestmark = pytest.mark.asyncio

BURST = 30
# Per-IP limits out of the way: these tests are about the per-login count.
NO_IP_LIMITS = {"rate_limit_login": "10000/minute", "rate_limit_login_failures": "10000/minute"}


def outcomes(answers: list[RawResponse]) -> Counter[str]:
    """What each answer says happened: a checked password is "invalid" or a success."""
    return Counter(json.loads(a.body)["outcome"] for a in answers)


async def test_a_burst_without_captcha_checks_at_most_the_captcha_threshold(settings: Settings, engine: Engine) -> None:
    config = settings.model_copy(update=NO_IP_LIMITS)
    login = unique_login()
    make_active_account(engine, config, login, PASSWORD)
    async with web_client(config, engine) as web:
        wrong = [{"login": login, "password": f"неверный-{i}"} for i in range(BURST - 1)]
        bodies = [*wrong, {"login": login, "password": PASSWORD}]  # the right one last
        answers = await burst([web.build_request("POST", "/api/v1/session", json=b) for b in bodies])
    seen = outcomes(answers)
    # At most 3 wrong guesses are checked; the right one only if it got one of the
    # slots (a success takes back its own slot, never the others').
    assert seen["invalid"] <= config.login_captcha_after_failures and seen["success"] <= 1, seen
    assert seen["captcha"] >= BURST - config.login_captcha_after_failures - 1, seen
    assert {a.status for a in answers} <= {200, 401}, seen


async def test_a_burst_with_captcha_checks_at_most_the_lockout_threshold(settings: Settings, engine: Engine) -> None:
    config = settings.model_copy(update=NO_IP_LIMITS)
    login = unique_login()
    make_active_account(engine, config, login, PASSWORD)
    async with web_client(config, engine) as web:
        bodies = [
            {"login": login, "password": f"неверный-{i}", "captcha_answer": CAPTCHA_TEST_ANSWER} for i in range(BURST)
        ]
        answers = await burst([web.build_request("POST", "/api/v1/session", json=b) for b in bodies])
        seen = outcomes(answers)
        assert seen["invalid"] == config.login_lockout_after_failures, seen
        assert seen["locked"] == BURST - config.login_lockout_after_failures, seen
        # Locked now: the right password is not even checked.
        right = await web.post(
            "/api/v1/session", json={"login": login, "password": PASSWORD, "captcha_answer": CAPTCHA_TEST_ANSWER}
        )
        assert right.status_code == 429 and right.json()["outcome"] == "locked"
    state = login_throttle.state(session_for(engine), config, validation.login_key(login), now=utcnow())
    assert state.failures == config.login_lockout_after_failures and state.locked_until is not None


async def test_a_burst_of_failures_from_one_address_is_held_to_the_per_ip_limit(
    settings: Settings, engine: Engine
) -> None:
    config = settings.model_copy(
        update={"rate_limit_login": "10000/minute", "rate_limit_login_failures": "5/minute;50/hour"}
    )
    async with web_client(config, engine, ip="198.51.100.77") as web:
        # Different logins: only the per-address limit can stop these.
        bodies = [{"login": unique_login(), "password": "неверный-пароль"} for _ in range(BURST)]
        answers = await burst([web.build_request("POST", "/api/v1/session", json=b) for b in bodies])
    seen = outcomes(answers)
    assert seen["invalid"] <= 5 and seen["rate_limited"] >= BURST - 5, seen


async def test_a_burst_of_recovery_requests_from_one_address_is_held_to_the_limit(
    settings: Settings, engine: Engine
) -> None:
    config = settings.model_copy(update={"rate_limit_password_reset": "5/minute;30/hour"})
    async with web_client(config, engine, ip="198.51.100.78") as web:
        body = {"login": "someone", "email": "someone@example.ru"}
        answers = await burst([web.build_request("POST", "/api/v1/password-resets", json=body) for _ in range(20)])
    statuses = Counter(a.status for a in answers)
    assert statuses[202] == 5 and statuses[429] == 15, statuses
