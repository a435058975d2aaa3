"""Per-client-IP rate limits on the ``limits`` library (the engine behind slowapi).

One ``RateLimiter`` per app, built from settings: ``memory://`` by default (per
process), or a shared Redis (``LKK_RATE_LIMIT_STORAGE_URI=redis://host:6379/0``) so
several API replicas count together. Moving windows: no double burst at a window edge.

Use on any endpoint that must not be hammered, e.g. the contract binding endpoints::

    from api.ratelimit import rate_limit

    @router.post("/contracts/bind", dependencies=[rate_limit("binding")])
    async def bind(...): ...

The rule name refers to ``Settings.rate_limit_<name>`` (``rate_limit_binding`` exists).
An exceeded limit raises ``RateLimited``; ``api.main`` turns it into a 429 with
``Retry-After`` (a Russian page, or JSON under /api/). The client IP is the ASGI
client address, which ``api.client_address`` sets from trusted proxies only
(``LKK_TRUSTED_PROXIES``), so a client cannot pick its own key.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from fastapi import Depends, Request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool

from api.ratelimit_refund import refund_entry
from lkk.settings import Settings

log = logging.getLogger(__name__)

RULES = (
    "login",
    "login_failures",
    "register",
    "resend",
    "registration_status",
    "password_reset",
    "password_change",
    "binding",
    "invitations",
    "captcha",
    "captcha_image",
)


class RateLimited(Exception):
    def __init__(self, rule: str, retry_after: int) -> None:
        super().__init__(rule)
        self.rule = rule
        self.retry_after = retry_after


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        options: dict[str, Any] = {"wrap_exceptions": True}
        if settings.rate_limit_storage_uri.startswith(("redis", "rediss")):
            options["key_prefix"] = settings.rate_limit_key_prefix
        self.storage: Storage = storage_from_string(settings.rate_limit_storage_uri, **options)  # type: ignore[assignment]
        self._strategy = MovingWindowRateLimiter(self.storage)
        self._rules: dict[str, list[RateLimitItem]] = {
            rule: sorted(parse_many(getattr(settings, f"rate_limit_{rule}")), key=lambda item: item.get_expiry())
            for rule in RULES
        }

    def hit(self, rule: str, client: str) -> int:
        """Count one request and decide in the same step: 0 if allowed, else the
        seconds until it would be.

        Each item's ``hit`` is atomic (a lock in memory, a Lua script on Redis), so a
        burst cannot slip between a test and a hit. Items are hit shortest window first
        and the first refusal stops: a request refused by "10/minute" is counted in no
        longer window; one refused by "60/hour" stays counted in the minute window,
        which is harmless while the hour is exhausted anyway.
        """
        try:
            for item in self._rules[rule]:
                if not self._strategy.hit(item, rule, client):
                    return self._retry_after(item, rule, client)
        except StorageError:
            # Failing open: an unreachable Redis must not take logins down. The per-account
            # lockout (in the database) still holds.
            log.error("rate-limit storage unavailable; %s not limited", rule)
        return 0

    def refund(self, rule: str, client: str) -> None:
        """Take back one counted request (for "failures only" rules: reserved before the
        check, refunded when it succeeded). Best effort: the newest entry of each window."""
        try:
            for item in self._rules[rule]:
                refund_entry(self.storage, item.key_for(rule, client))
        except Exception:  # never fail the request over a refund
            log.error("rate-limit storage unavailable; %s not refunded", rule)

    def _retry_after(self, item: RateLimitItem, rule: str, client: str) -> int:
        stats = self._strategy.get_window_stats(item, rule, client)
        return max(math.ceil(stats.reset_time - time.time()), 1)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limiter_of(request: Request) -> RateLimiter:
    return request.app.state.limiter  # type: ignore[no-any-return]


def rate_limit(rule: str) -> Any:
    """A FastAPI dependency counting every request to the endpoint against ``rule``."""
    if rule not in RULES:
        raise ValueError(f"unknown rate-limit rule {rule!r}; add rate_limit_{rule} to Settings and RULES")

    async def guard(request: Request) -> None:
        retry_after = await run_in_threadpool(limiter_of(request).hit, rule, client_ip(request))
        if retry_after:
            raise RateLimited(rule, retry_after)

    return Depends(guard)
