"""The sign-up store on a real database: uniqueness, races, crash-safe claims."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from lkk import validation
from lkk.store import signups
from lkk.timeutil import utcnow


def _signup(login: str, email: str) -> signups.NewSignup:
    return signups.NewSignup(
        login=login,
        login_key=validation.login_key(login),
        email=email,
        email_key=validation.email_key(email),
        phone=None,
        password_hash="$argon2id$not-a-real-hash",
    )


def test_login_and_email_are_unique_case_insensitively(engine: Engine) -> None:
    now = utcnow()
    signups.reserve(engine, _signup("Romashka", "buh@romashka.ru"), now=now, claim_until=now + timedelta(minutes=15))
    with pytest.raises(signups.SignupConflict) as login_taken:
        signups.reserve(engine, _signup("ROMASHKA", "other@romashka.ru"), now=now, claim_until=now + timedelta(minutes=15))
    assert login_taken.value.fields == {"login"}
    with pytest.raises(signups.SignupConflict) as email_taken:
        signups.reserve(engine, _signup("other", "BUH@romashka.ru"), now=now, claim_until=now + timedelta(minutes=15))
    assert email_taken.value.fields == {"email"}


def test_api_crash_after_reserving_leaves_only_a_lapsing_claim(engine: Engine) -> None:
    """The API wrote the row and died before starting the workflow: the claim
    blocks the login only until it lapses, then a new sign-up purges it."""
    t0 = utcnow()
    claim = timedelta(minutes=15)
    orphan = signups.reserve(engine, _signup("orphan", "orphan@example.ru"), now=t0, claim_until=t0 + claim)
    with pytest.raises(signups.SignupConflict):
        signups.reserve(engine, _signup("orphan", "orphan@example.ru"), now=t0 + timedelta(minutes=1), claim_until=t0 + claim)
    later = t0 + claim + timedelta(seconds=1)
    fresh = signups.reserve(engine, _signup("orphan", "orphan@example.ru"), now=later, claim_until=later + claim)
    assert fresh != orphan
    # The old workflow (had it started late) would find its sign-up gone and end as expired.
    assert signups.expire(engine, orphan) is True


def test_concurrent_signups_of_one_login_make_exactly_one_account(engine: Engine) -> None:
    barrier = threading.Barrier(8)
    winners: list[str] = []
    conflicts: list[frozenset[str]] = []

    def attempt(i: int) -> None:
        barrier.wait()
        now = utcnow()
        try:
            winners.append(
                signups.reserve(engine, _signup("racer", f"racer{i}@example.ru"), now=now, claim_until=now + timedelta(minutes=15))
            )
        except signups.SignupConflict as conflict:
            conflicts.append(conflict.fields)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert conflicts == [frozenset({"login"})] * 7


def test_confirmation_link_lifecycle(engine: Engine) -> None:
    now = utcnow()
    expires = now + timedelta(hours=72)
    account_id = signups.reserve(engine, _signup("links", "links@example.ru"), now=now, claim_until=now + timedelta(minutes=15))
    first = signups.issue_confirmation_link(engine, account_id, seq=0, signup_expires_at=expires, now=now)
    retry = signups.issue_confirmation_link(engine, account_id, seq=0, signup_expires_at=expires, now=now)
    assert first and retry and first.token != retry.token
    # Both attempts of the same send stay valid (a retried send never kills a delivered link)...
    assert signups.peek_confirmation(engine, first.token, now=now).outcome is signups.ConfirmOutcome.CONFIRMED
    assert signups.peek_confirmation(engine, retry.token, now=now).outcome is signups.ConfirmOutcome.CONFIRMED
    # ...a resend kills both.
    resent = signups.issue_confirmation_link(engine, account_id, seq=1, signup_expires_at=expires, now=now)
    assert resent is not None
    assert signups.confirm(engine, first.token, now=now).outcome is signups.ConfirmOutcome.INVALID
    # After the sign-up's lifetime the link no longer confirms.
    assert signups.confirm(engine, resent.token, now=expires + timedelta(seconds=1)).outcome is signups.ConfirmOutcome.EXPIRED
    assert signups.confirm(engine, resent.token, now=now).outcome is signups.ConfirmOutcome.CONFIRMED
    assert signups.expire(engine, account_id) is False  # active accounts are never expired
    assert signups.issue_confirmation_link(engine, account_id, seq=2, signup_expires_at=expires, now=now) is None
