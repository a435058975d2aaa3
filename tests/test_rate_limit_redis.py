"""The Redis backend of the per-IP rate limits (the Redis on 127.0.0.1:6379): several
API replicas count together. Each test uses its own key prefix (shared machine)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy.engine import Engine

from api.ratelimit import RateLimiter
from lkk.settings import Settings
from tests.web import log_in, web_client

pytestmark = pytest.mark.asyncio

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_settings(settings: Settings) -> Iterator[Settings]:
    prefix = f"lkk-test-{uuid.uuid4().hex[:12]}"
    yield settings.model_copy(
        update={
            "rate_limit_storage_uri": REDIS_URL,
            "rate_limit_key_prefix": prefix,
            "rate_limit_login_failures": "3/minute",
            "login_captcha_after_failures": 1000,
            "login_lockout_after_failures": 1000,
        }
    )
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


async def test_replicas_share_counts_through_redis(redis_settings: Settings, engine: Engine) -> None:
    replica_a, replica_b = RateLimiter(redis_settings), RateLimiter(redis_settings)
    assert type(replica_a.storage).__name__ == "RedisStorage"
    assert replica_a.hit("password_reset", "192.0.2.1") == 0
    assert replica_b.hit("password_reset", "192.0.2.1") == 0
    for _ in range(3):
        replica_a.hit("password_reset", "192.0.2.1")
    assert replica_b.hit("password_reset", "192.0.2.1") > 0, "5/minute reached across both replicas"
    assert replica_b.hit("password_reset", "192.0.2.2") == 0, "another client is not affected"
    keys = redis.Redis.from_url(REDIS_URL).keys(f"{redis_settings.rate_limit_key_prefix}:*")
    assert keys, "the counts live in Redis under the configured prefix"


async def test_login_failures_on_one_replica_limit_the_other(redis_settings: Settings, engine: Engine) -> None:
    async with web_client(redis_settings, engine, ip="192.0.2.50") as a, web_client(redis_settings, engine, ip="192.0.2.50") as b:
        for web in (a, b, a):
            assert (await log_in(web, "nobody-here", "неверный-пароль-1")).status_code == 401
        limited = await log_in(b, "nobody-else", "неверный-пароль-1")
        assert limited.status_code == 429
    # The count is per client address (X-Forwarded-For from the trusted proxy), not per socket peer.
    async with web_client(redis_settings, engine, ip="192.0.2.51") as other_address:
        assert (await log_in(other_address, "nobody-else", "неверный-пароль-1")).status_code == 401


async def test_unreachable_redis_fails_open(settings: Settings) -> None:
    broken = settings.model_copy(update={"rate_limit_storage_uri": "redis://127.0.0.1:1/0", "rate_limit_password_reset": "1/minute"})
    limiter = RateLimiter(broken)
    assert limiter.hit("password_reset", "192.0.2.9") == 0
    assert limiter.hit("password_reset", "192.0.2.9") == 0  # not counted, not blocked: the DB lockout still holds


@pytest.mark.parametrize("storage", ["memory://", REDIS_URL])
async def test_a_refund_takes_back_one_reserved_hit(redis_settings: Settings, storage: str) -> None:
    """"Failures only" rules count every attempt up front and refund the successes."""
    config = redis_settings.model_copy(update={"rate_limit_storage_uri": storage, "rate_limit_login_failures": "3/minute;30/hour"})
    limiter = RateLimiter(config)
    client = f"192.0.2.{60 + len(storage) % 100}"
    assert [limiter.hit("login_failures", client) for _ in range(3)] == [0, 0, 0]
    assert limiter.hit("login_failures", client) > 0
    limiter.refund("login_failures", client)
    assert limiter.hit("login_failures", client) == 0, "the refunded slot is free again"
    assert limiter.hit("login_failures", client) > 0
