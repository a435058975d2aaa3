"""The sign-up store on a real database: uniqueness, races, crash-safe claims."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from lkk import validation
from lkk.db import session_scope
from lkk.errors import SignupTaken
from lkk.models import Account, AccountStatus, SignupBase
from lkk.store import session_for, signups
from lkk.timeutil import utcnow

HASH = "$argon2id$not-a-real-hash"


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    with session_for(engine) as session:
        yield session


def _signup(login: str, email: str) -> SignupBase:
    return SignupBase(login=login, email=email)


def _reserve(db: Session, login: str, email: str, *, now: datetime, claim_until: datetime) -> str:
    return signups.reserve(db, _signup(login, email), HASH, now=now, claim_until=claim_until)


def test_login_is_unique_and_the_email_only_once_confirmed(engine: Engine, db: Session) -> None:
    """A pending sign-up holds its login, not its address: the address's owner can still
    sign up; once an address is confirmed, it is taken (case-insensitively)."""
    now = utcnow()
    claim = now + timedelta(minutes=15)
    squatter = _reserve(db, "Romashka", "buh@romashka.ru", now=now, claim_until=claim)
    with pytest.raises(SignupTaken) as login_taken:
        _reserve(db, "ROMASHKA", "other@romashka.ru", now=now, claim_until=claim)
    assert login_taken.value.taken == {"login"}
    owner = _reserve(db, "owner", "BUH@romashka.ru", now=now, claim_until=claim)
    token = _link(db, owner, now)
    result = signups.confirm(db, token, now=now)
    assert result.outcome is signups.ConfirmOutcome.CONFIRMED and result.superseded == (squatter,)
    assert signups.expire(db, squatter) is True  # already gone: its workflow ends, its login is free
    _reserve(db, "romashka", "new@romashka.ru", now=now, claim_until=claim)
    with pytest.raises(SignupTaken) as email_taken:
        _reserve(db, "third", "Buh@Romashka.ru", now=now, claim_until=claim)
    assert email_taken.value.taken == {"email"}


def _link(db: Session, account_id: str, now: datetime) -> str:
    link = signups.issue_confirmation_link(
        db, account_id, seq=0, signup_expires_at=now + timedelta(hours=72), now=now
    )
    assert link is not None
    return link.token


def test_look_alike_idn_addresses_are_one_address(engine: Engine, db: Session) -> None:
    now = utcnow()
    claim = now + timedelta(minutes=15)
    first = _reserve(db, "idn-one", validation.normalize_email("Buh@ПОЧТА.РФ"), now=now, claim_until=claim)
    assert signups.confirm(db, _link(db, first, now), now=now).outcome is signups.ConfirmOutcome.CONFIRMED
    # Support and recovery key what was typed, not always a normalised form: one key for all.
    assert validation.email_key("buh@xn--80a1acny.xn--p1ai") == validation.email_key("Buh@ПОЧТА.РФ")
    assert validation.email_key("buh@ｅｘａｍｐｌｅ.ru") == validation.email_key("BUH@example.ru")
    for look_alike in ("buh@почта.рф", "buh@xn--80a1acny.xn--p1ai", "BUH@Почта.рф"):
        with pytest.raises(SignupTaken) as taken:
            _reserve(db, f"idn-{uuid.uuid4().hex[:6]}", validation.normalize_email(look_alike),
                     now=now, claim_until=claim)
        assert taken.value.taken == {"email"}, look_alike


def test_a_sign_up_made_after_the_address_was_confirmed_is_superseded_at_its_confirmation(engine: Engine, db: Session) -> None:
    """Reserve and confirm race: a pending sign-up of an already confirmed address can
    exist; its link then ends it instead of activating a second owner."""
    now = utcnow()
    claim = now + timedelta(minutes=15)
    winner = _reserve(db, "early", "race@example.ru", now=now, claim_until=claim)
    late = _reserve(db, "late", "race@example.ru", now=now, claim_until=claim)
    late_token = _link(db, late, now)
    # As if "late" had been reserved just after "winner" locked the address's rows.
    with session_scope(engine) as session:
        session.exec(update(Account).where(Account.id == winner).values(status=AccountStatus.ACTIVE, expires_at=None))
    result = signups.confirm(db, late_token, now=now)
    assert result.outcome is signups.ConfirmOutcome.SUPERSEDED and result.superseded == (late,)
    assert signups.expire(db, late) is True


def test_confirmed_addresses_are_unique_in_the_database_itself(engine: Engine, db: Session) -> None:
    """The partial unique index: a second active account of one address cannot be written."""
    now = utcnow()
    claim = now + timedelta(minutes=15)
    ids = [_reserve(db, f"dup{i}", "dup@example.ru", now=now, claim_until=claim) for i in range(2)]
    with session_scope(engine) as session:
        session.exec(update(Account).where(Account.id == ids[0]).values(status=AccountStatus.ACTIVE))
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.exec(update(Account).where(Account.id == ids[1]).values(status=AccountStatus.ACTIVE))


def test_simultaneous_confirmations_of_one_address_have_exactly_one_winner(engine: Engine, db: Session) -> None:
    now = utcnow()
    claim = now + timedelta(minutes=15)
    tokens = [
        _link(db, _reserve(db, f"twin{i}", "twin@example.ru", now=now, claim_until=claim), now)
        for i in range(6)
    ]
    barrier = threading.Barrier(len(tokens))
    outcomes: list[signups.ConfirmOutcome] = []

    def attempt(token: str) -> None:
        with session_for(engine) as own:
            barrier.wait()
            outcomes.append(signups.confirm(own, token, now=now).outcome)

    threads = [threading.Thread(target=attempt, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == len(tokens) and outcomes.count(signups.ConfirmOutcome.CONFIRMED) == 1, outcomes
    # A loser that read its token or account after the winner committed finds it gone
    # (invalid / expired); its workflow still learns "superseded" from the winner.
    assert set(outcomes) - {signups.ConfirmOutcome.CONFIRMED} <= {
        signups.ConfirmOutcome.SUPERSEDED, signups.ConfirmOutcome.INVALID, signups.ConfirmOutcome.EXPIRED
    }, outcomes
    with session_scope(engine) as session:
        rows = session.exec(select(Account.status).where(Account.email_key == "twin@example.ru")).all()
    assert rows == [AccountStatus.ACTIVE]  # the others are deleted: their logins are free


def test_api_crash_after_reserving_leaves_only_a_lapsing_claim(engine: Engine, db: Session) -> None:
    """The API wrote the row and died before starting the workflow: the claim
    blocks the login only until it lapses, then a new sign-up purges it."""
    t0 = utcnow()
    claim = timedelta(minutes=15)
    orphan = _reserve(db, "orphan", "orphan@example.ru", now=t0, claim_until=t0 + claim)
    with pytest.raises(SignupTaken):
        _reserve(db, "orphan", "orphan@example.ru", now=t0 + timedelta(minutes=1), claim_until=t0 + claim)
    later = t0 + claim + timedelta(seconds=1)
    fresh = _reserve(db, "orphan", "orphan@example.ru", now=later, claim_until=later + claim)
    assert fresh != orphan
    # The old workflow (had it started late) would find its sign-up gone and end as expired.
    assert signups.expire(db, orphan) is True


def test_concurrent_signups_of_one_login_make_exactly_one_account(engine: Engine) -> None:
    barrier = threading.Barrier(8)
    winners: list[str] = []
    conflicts: list[frozenset[str]] = []

    def attempt(i: int) -> None:
        with session_for(engine) as own:
            barrier.wait()
            now = utcnow()
            try:
                winners.append(
                    _reserve(own, "racer", f"racer{i}@example.ru", now=now, claim_until=now + timedelta(minutes=15))
                )
            except SignupTaken as conflict:
                conflicts.append(conflict.taken)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert conflicts == [frozenset({"login"})] * 7


def test_confirmation_link_lifecycle(engine: Engine, db: Session) -> None:
    now = utcnow()
    expires = now + timedelta(hours=72)
    account_id = _reserve(db, "links", "links@example.ru", now=now, claim_until=now + timedelta(minutes=15))
    first = signups.issue_confirmation_link(db, account_id, seq=0, signup_expires_at=expires, now=now)
    retry = signups.issue_confirmation_link(db, account_id, seq=0, signup_expires_at=expires, now=now)
    assert first and retry and first.token != retry.token
    # Both attempts of the same send stay valid (a retried send never kills a delivered link)...
    assert signups.peek_confirmation(db, first.token, now=now).outcome is signups.ConfirmOutcome.CONFIRMED
    assert signups.peek_confirmation(db, retry.token, now=now).outcome is signups.ConfirmOutcome.CONFIRMED
    # ...a resend kills both.
    resent = signups.issue_confirmation_link(db, account_id, seq=1, signup_expires_at=expires, now=now)
    assert resent is not None
    assert signups.confirm(db, first.token, now=now).outcome is signups.ConfirmOutcome.INVALID
    # After the sign-up's lifetime the link no longer confirms.
    assert signups.confirm(db, resent.token, now=expires + timedelta(seconds=1)).outcome is signups.ConfirmOutcome.EXPIRED
    assert signups.confirm(db, resent.token, now=now).outcome is signups.ConfirmOutcome.CONFIRMED
    assert signups.expire(db, account_id) is False  # active accounts are never expired
    assert signups.issue_confirmation_link(db, account_id, seq=2, signup_expires_at=expires, now=now) is None
