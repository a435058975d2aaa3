"""Failed-login counting per login key, with growing lockouts.

Keyed by the SHA-256 of the casefolded login whether or not such an account exists:
unknown logins get the same captcha and lockouts as real ones, so neither reveals
which logins are registered.

Every attempt is *reserved* (counted as a failure) before its password is checked, by
one conditional ``UPDATE ... RETURNING``: it counts only if the login is not locked and,
past the captcha threshold, only if the captcha was solved; a lock this count earns is
set in the same transaction, while the row is still held. So a burst of concurrent
attempts checks at most the promised number of passwords (as lkk.billing.lockout does
for binding codes). A success takes back its own count; a completed recovery clears
the counter; a quiet day forgets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, or_, update
from sqlmodel import Session

from lkk.models import LoginThrottle
from lkk.security.lockout_rule import LockoutPolicy
from lkk.security.tokens import hash_token
from lkk.settings import Settings
from lkk.store import transaction
from lkk.timeutil import as_utc


@dataclass(frozen=True)
class ThrottleState:
    failures: int = 0
    locked_until: datetime | None = None

    def locked_seconds(self, now: datetime) -> int:
        if self.locked_until is None or self.locked_until <= now:
            return 0
        return int((self.locked_until - now).total_seconds()) + 1


@dataclass(frozen=True)
class Reservation:
    """``granted``: this attempt is counted and its password may be checked. Otherwise
    ``state`` says why not: a lock, or the captcha is due and was not solved."""

    granted: bool
    state: ThrottleState
    newly_locked: bool = False  # this very attempt earned a lock


def key_for(login_key: str) -> str:
    return hash_token(f"login:{login_key}")


def policy(settings: Settings) -> LockoutPolicy:
    return LockoutPolicy(
        threshold=settings.login_lockout_after_failures,
        base_seconds=settings.login_lockout_base_seconds,
        max_seconds=settings.login_lockout_max_seconds,
        forget_seconds=settings.login_failure_memory_seconds,
    )


def state(session: Session, settings: Settings, login_key: str, *, now: datetime) -> ThrottleState:
    with transaction(session):
        return _state(session, settings, key_for(login_key), now)


def reserve(
    session: Session, settings: Settings, login_key: str, *, now: datetime, captcha_solved: bool
) -> Reservation:
    """Count one attempt before its password is checked (see the module doc)."""
    key = key_for(login_key)
    rule = policy(settings)
    quiet = LoginThrottle.last_failure_at < now - timedelta(seconds=rule.forget_seconds)  # type: ignore[operator]
    free = or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now)  # type: ignore[union-attr,operator]
    conditions = [LoginThrottle.key_hash == key, free]
    if not captcha_solved:
        conditions.append(or_(quiet, LoginThrottle.failures < settings.login_captcha_after_failures))
    with transaction(session):
        _ensure_row(session, key, now)
        counted = session.execute(
            update(LoginThrottle)
            .where(*conditions)
            .values(failures=case((quiet, 1), else_=LoginThrottle.failures + 1), last_failure_at=now, locked_until=None)
            .returning(LoginThrottle.failures)
        ).first()
        if counted is None:
            return Reservation(False, _state(session, settings, key, now))
        failures = int(counted[0])
        seconds = rule.lock_seconds(failures)
        locked_until = now + timedelta(seconds=seconds) if seconds else None
        if locked_until is not None:  # still in the transaction that holds the row
            session.execute(update(LoginThrottle).where(LoginThrottle.key_hash == key).values(locked_until=locked_until))
        return Reservation(True, ThrottleState(failures, locked_until), newly_locked=locked_until is not None)


def release(session: Session, settings: Settings, login_key: str) -> None:
    """The reserved attempt succeeded: take back its own count (and the lock, if only
    this count had earned it). Failures of other attempts stay counted, even ones still
    in flight: clearing them would hand a concurrent burst a fresh set of guesses."""
    below = LoginThrottle.failures - 1 < settings.login_lockout_after_failures
    with transaction(session):
        session.exec(
            update(LoginThrottle)
            .where(LoginThrottle.key_hash == key_for(login_key), LoginThrottle.failures > 0)
            .values(
                failures=LoginThrottle.failures - 1,
                locked_until=case((below, None), else_=LoginThrottle.locked_until),
            )
        )
        # Nothing left to remember: no row (every attempt inserts one; keep the table small).
        session.exec(
            delete(LoginThrottle).where(
                LoginThrottle.key_hash == key_for(login_key),
                LoginThrottle.failures == 0,
                LoginThrottle.locked_until.is_(None),  # type: ignore[union-attr]
            )
        )


def clear(session: Session, login_key: str) -> None:
    """A completed recovery (the mailed password was used): forget the failures and any lock."""
    with transaction(session):
        session.exec(delete(LoginThrottle).where(LoginThrottle.key_hash == key_for(login_key)))


def purge_stale(session: Session, settings: Settings, *, now: datetime) -> int:
    """Drop counters nobody touched for the memory period (keeps the table small);
    returns the rows deleted. Run by the scheduled purge (workflows/maintenance.py)."""
    cutoff = now - timedelta(seconds=settings.login_failure_memory_seconds)
    with transaction(session):
        result = session.exec(delete(LoginThrottle).where(LoginThrottle.last_failure_at < cutoff))
        return int(result.rowcount or 0)


def _state(session: Session, settings: Settings, key: str, now: datetime) -> ThrottleState:
    row = session.get(LoginThrottle, key)
    if row is None or _forgotten(settings, row, now):
        return ThrottleState()
    return ThrottleState(row.failures, as_utc(row.locked_until) if row.locked_until else None)


def _ensure_row(session: Session, key: str, now: datetime) -> None:
    """Insert the counter at zero unless it exists (a concurrent insert is no error)."""
    values = {"key_hash": key, "failures": 0, "last_failure_at": now}
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    session.execute(insert(LoginThrottle).values(**values).on_conflict_do_nothing(index_elements=["key_hash"]))


def _forgotten(settings: Settings, row: LoginThrottle, now: datetime) -> bool:
    return now - as_utc(row.last_failure_at) >= timedelta(seconds=settings.login_failure_memory_seconds)
