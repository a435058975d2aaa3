"""Failed-login counting per login key, with growing lockouts.

Keyed by the SHA-256 of the casefolded login whether or not such an account exists:
unknown logins get the same captcha and lockouts as real ones, so neither reveals
which logins are registered. A success clears the counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.engine import Engine

from lkk.db import session_scope
from lkk.models import LoginThrottle
from lkk.security.tokens import hash_token
from lkk.settings import Settings
from lkk.timeutil import as_utc


@dataclass(frozen=True)
class ThrottleState:
    failures: int = 0
    locked_until: datetime | None = None

    def locked_seconds(self, now: datetime) -> int:
        if self.locked_until is None or self.locked_until <= now:
            return 0
        return int((self.locked_until - now).total_seconds()) + 1


def key_for(login_key: str) -> str:
    return hash_token(f"login:{login_key}")


def lockout_seconds(settings: Settings, failures: int) -> int:
    """0 below the threshold, then base, 2×base, 4×base, ... up to the maximum."""
    over = failures - settings.login_lockout_after_failures
    if over < 0:
        return 0
    return min(settings.login_lockout_base_seconds * (2 ** min(over, 30)), settings.login_lockout_max_seconds)


def state(engine: Engine, settings: Settings, login_key: str, *, now: datetime) -> ThrottleState:
    with session_scope(engine) as session:
        row = session.get(LoginThrottle, key_for(login_key))
        if row is None or _forgotten(settings, row, now):
            return ThrottleState()
        return ThrottleState(row.failures, as_utc(row.locked_until) if row.locked_until else None)


def record_failure(engine: Engine, settings: Settings, login_key: str, *, now: datetime) -> ThrottleState:
    key = key_for(login_key)
    with session_scope(engine) as session:
        row = session.get(LoginThrottle, key, with_for_update=True)
        if row is None:
            row = LoginThrottle(key_hash=key, failures=0, last_failure_at=now)
        elif _forgotten(settings, row, now):
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        seconds = lockout_seconds(settings, row.failures)
        row.locked_until = now + timedelta(seconds=seconds) if seconds else None
        session.add(row)
        return ThrottleState(row.failures, row.locked_until)


def clear(engine: Engine, login_key: str) -> None:
    with session_scope(engine) as session:
        session.exec(delete(LoginThrottle).where(LoginThrottle.key_hash == key_for(login_key)))


def purge_stale(engine: Engine, settings: Settings, *, now: datetime) -> int:
    """Drop counters nobody touched for the memory period (keeps the table small);
    returns the rows deleted. Run by the scheduled purge (workflows/maintenance.py)."""
    cutoff = now - timedelta(seconds=settings.login_failure_memory_seconds)
    with session_scope(engine) as session:
        result = session.exec(delete(LoginThrottle).where(LoginThrottle.last_failure_at < cutoff))
        return int(result.rowcount or 0)


def _forgotten(settings: Settings, row: LoginThrottle, now: datetime) -> bool:
    return now - as_utc(row.last_failure_at) >= timedelta(seconds=settings.login_failure_memory_seconds)
