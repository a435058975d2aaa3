"""The login burst against two API replicas (subprocesses, as behind a load balancer)
sharing one database and one Redis for the per-address limits: half of the burst lands
on each replica, and the limits hold as on one process."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import redis
from temporalio.testing import WorkflowEnvironment

from lkk.db import make_engine
from lkk.settings import Settings
from tests.burst import RawResponse, burst
from tests.conftest import CAPTCHA_TEST_ANSWER
from tests.harness import PASSWORD, unique_login
from tests.stack import Stack, running_stack
from tests.web import make_active_account

pytestmark = pytest.mark.asyncio

REDIS_URL = "redis://127.0.0.1:6379/0"
BURST = 30


@pytest.fixture
def two_apis(dev_server_env: WorkflowEnvironment, settings: Settings) -> Iterator[list[Stack]]:
    prefix = f"lkk-test-{uuid.uuid4().hex[:12]}"  # shared Redis: this test's keys only
    config = settings.model_copy(
        update={
            "temporal_address": dev_server_env.client.service_client.config.target_host,
            "rate_limit_storage_uri": REDIS_URL,
            "rate_limit_key_prefix": prefix,
            "rate_limit_login": "10000/minute",
            "rate_limit_login_failures": "5/minute;50/hour",
            # The test stands in for the balancer: its X-Forwarded-For is the client's address.
            "trusted_proxies": "127.0.0.1",
        }
    )
    with running_stack(config, workers=0, apis=2) as apis:
        yield apis
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def _outcomes(answers: list[RawResponse]) -> Counter[str]:
    return Counter(json.loads(a.body)["outcome"] for a in answers)


async def _burst_over(apis: list[Stack], bodies: list[dict[str, str]], ips: list[str]) -> Counter[str]:
    clients = [httpx.AsyncClient(base_url=api.api_url) for api in apis]
    try:
        requests = [
            clients[i % 2].build_request("POST", "/api/v1/session", json=body, headers={"X-Forwarded-For": ips[i]})
            for i, body in enumerate(bodies)
        ]
        return _outcomes(await burst(requests))
    finally:
        for client in clients:
            await client.aclose()


async def test_one_login_burst_over_two_replicas(two_apis: list[Stack]) -> None:
    settings = two_apis[0].settings
    engine = make_engine(settings.database_url)
    try:
        login = unique_login("burst")
        make_active_account(engine, settings, login, PASSWORD)
        ghost = unique_login("ghost")  # no such account: held the same way
    finally:
        engine.dispose()
    # Every request from its own address: only the per-login count can stop them.
    ips = [f"192.0.2.{i + 1}" for i in range(BURST)]
    for name in (login, ghost):
        no_captcha = [{"login": name, "password": f"неверный-{i}"} for i in range(BURST - 1)]
        seen = await _burst_over(two_apis, [*no_captcha, {"login": name, "password": PASSWORD}], ips)
        assert seen["invalid"] <= settings.login_captcha_after_failures and seen["success"] <= 1, seen
        with_captcha = [
            {"login": name, "password": f"неверный-{i}", "captcha_answer": CAPTCHA_TEST_ANSWER} for i in range(BURST)
        ]
        seen = await _burst_over(two_apis, with_captcha, ips)
        assert seen["locked"] >= BURST - settings.login_lockout_after_failures, seen
        right = [{"login": name, "password": PASSWORD, "captcha_answer": CAPTCHA_TEST_ANSWER}]
        assert (await _burst_over(two_apis[:1], right, ips))["locked"] == 1


async def test_failures_from_one_address_over_two_replicas(two_apis: list[Stack]) -> None:
    bodies = [{"login": unique_login(), "password": "неверный-пароль"} for _ in range(BURST)]
    seen = await _burst_over(two_apis, bodies, ["198.51.100.99"] * BURST)
    assert seen["invalid"] <= 5 and seen["rate_limited"] >= BURST - 5, seen
