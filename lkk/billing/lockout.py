"""Growing lockouts for binding attempts, per contract number and per cabinet.

Every attempt is counted as a failure *before* the code is checked, and a lock that
this failure would earn is set at the same time; a correct answer then clears the
counter. Counting up front means parallel requests cannot squeeze extra guesses in
while an earlier guess is still being verified. Counters live in the database, so they
are shared by all workers and survive restarts.

This module is the store of the counters only; the rule (threshold, doubling, cap,
forgetting) is ``lkk.security.lockout_rule``, shared with the login lockout. Every
function works in the caller's session (not ``lkk.store.transaction``, see
``lkk.billing``): ``reserve_attempt``, ``clear`` and ``refund`` end its transaction (a
count must be visible to parallel attempts at once), while ``purge_quiet`` leaves the
commit to its caller.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from lkk.billing.models import AttemptSubject, BindingAttemptCounter as Counter
from lkk.security.lockout_rule import LockoutPolicy
from lkk.timeutil import as_utc

DEFAULT_POLICY = LockoutPolicy()


@dataclass(frozen=True)
class Subject:
    kind: AttemptSubject
    key: str


def reserve_attempt(
    session: Session, subjects: Sequence[Subject], now: datetime, policy: LockoutPolicy = DEFAULT_POLICY
) -> int | None:
    """Count one attempt against every subject. If any subject is locked, count nothing
    and return the seconds until all of them are free; otherwise return None."""
    now = as_utc(now)
    cutoff = now - timedelta(seconds=policy.forget_seconds)
    for subject in subjects:
        _ensure_row(session, subject)
    locked = [s for s in subjects if not _count_failure(session, s, now, cutoff)]
    if locked:
        session.rollback()
        return _retry_after(session, locked, now)
    for subject in subjects:
        failures = session.exec(select(Counter.failures).where(*_match(subject))).one()
        seconds = policy.lock_seconds(failures)
        if seconds is not None:
            session.execute(update(Counter).where(*_match(subject)).values(locked_until=now + timedelta(seconds=seconds)))
    session.commit()
    return None


def clear(session: Session, subjects: Sequence[Subject]) -> None:
    """A correct answer: forget the subjects' failures and locks."""
    for subject in subjects:
        session.execute(delete(Counter).where(*_match(subject)))
    session.commit()


def refund(session: Session, subjects: Sequence[Subject]) -> None:
    """The attempt could not be checked at all (an error): take back its count."""
    for subject in subjects:
        session.execute(
            update(Counter)
            .where(*_match(subject), Counter.failures > 0)
            .values(failures=Counter.failures - 1, locked_until=None)
        )
    session.commit()


def purge_quiet(session: Session, now: datetime, policy: LockoutPolicy = DEFAULT_POLICY) -> int:
    """Delete counters that have been quiet for ``forget_seconds`` (unknown contract
    numbers pile up otherwise). Such a counter would restart from one anyway
    (``_count_failure``), so deleting it changes no decision. Returns the rows deleted."""
    cutoff = as_utc(now) - timedelta(seconds=policy.forget_seconds)
    result = session.execute(
        delete(Counter).where(
            or_(Counter.last_failure_at.is_(None), Counter.last_failure_at < cutoff),  # type: ignore[union-attr,operator]
            or_(Counter.locked_until.is_(None), Counter.locked_until < cutoff),  # type: ignore[union-attr,operator]
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def locked_for(session: Session, subjects: Sequence[Subject], now: datetime) -> int | None:
    """Seconds until every subject is free, or None when none is locked (read-only)."""
    return _retry_after(session, subjects, as_utc(now))


def _match(subject: Subject) -> tuple:  # type: ignore[type-arg]
    return (Counter.subject_kind == subject.kind.value, Counter.subject_key == subject.key)


def _count_failure(session: Session, subject: Subject, now: datetime, cutoff: datetime) -> bool:
    """Add one failure unless locked; a long-quiet counter restarts from one."""
    quiet = and_(
        Counter.last_failure_at.is_not(None),  # type: ignore[union-attr]
        Counter.last_failure_at < cutoff,  # type: ignore[operator]
        or_(Counter.locked_until.is_(None), Counter.locked_until < cutoff),  # type: ignore[union-attr,operator]
    )
    free = or_(Counter.locked_until.is_(None), Counter.locked_until <= now)  # type: ignore[union-attr,operator]
    result = session.execute(
        update(Counter)
        .where(*_match(subject), free)
        .values(failures=case((quiet, 1), else_=Counter.failures + 1), last_failure_at=now)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def _retry_after(session: Session, subjects: Sequence[Subject], now: datetime) -> int | None:
    waits = []
    for subject in subjects:
        until = session.exec(select(Counter.locked_until).where(*_match(subject))).first()
        if until is not None and as_utc(until) > now:
            waits.append(math.ceil((as_utc(until) - now).total_seconds()))
    return max(waits) if waits else None


def _ensure_row(session: Session, subject: Subject) -> None:
    values = {"subject_kind": subject.kind.value, "subject_key": subject.key, "failures": 0}
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
        stmt = insert(Counter).values(**values).on_conflict_do_nothing(index_elements=["subject_kind", "subject_key"])
        session.execute(stmt)
        return
    # Other databases: insert inside a savepoint and ignore a concurrent duplicate.
    if session.exec(select(Counter.id).where(*_match(subject))).first() is None:
        try:
            with session.begin_nested():
                session.add(Counter(**values))
        except IntegrityError:
            pass
