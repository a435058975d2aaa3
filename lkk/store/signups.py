"""Sign-up lifecycle in the database: reserve, confirmation links, confirm, expire.

A sign-up first *claims* its login and e-mail for a short while
(``signup_claim_seconds``); the workflow's first activity extends the claim to the
sign-up's full lifetime. So if the API dies between writing the row and starting
the workflow, the claim simply lapses and the next sign-up with that login or
e-mail purges it: nothing stays reserved for ever.

The login is held by a pending sign-up; the e-mail address is not. Several pending
sign-ups may name one address: the first whose link is confirmed gets it, and the
others are deleted in the same transaction (superseded). Confirmed addresses are
unique (a partial unique index), so two simultaneous confirmations cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from lkk.errors import SignupTaken
from lkk.models import Account, AccountStatus, ConfirmationToken, SignupBase
from lkk.security.tokens import hash_token, new_token
from lkk.store import transaction
from lkk.timeutil import as_utc
from lkk.validation import email_key, login_key


@dataclass(frozen=True)
class _Keys:
    login_key: str
    email_key: str


def reserve(
    session: Session, signup: SignupBase, password_hash: str, *, now: datetime, claim_until: datetime
) -> str:
    """Insert the pending account with every field of ``signup``; return its id.
    Raises ``SignupTaken`` naming the login and/or the e-mail."""
    account = Account.model_validate(
        signup,
        update={
            "login_key": login_key(signup.login),
            "email_key": email_key(signup.email),
            "password_hash": password_hash,
            "status": AccountStatus.PENDING,
            "created_at": now,
            "expires_at": claim_until,
        },
    )
    keys = _Keys(account.login_key, account.email_key)
    try:
        with transaction(session):
            _purge_lapsed(session, keys, now)
            if _confirmed_owner(session, keys.email_key) is not None:
                raise SignupTaken(_taken_in(session, keys))
            session.add(account)
            session.flush()
            return account.id
    except IntegrityError:
        with transaction(session):
            taken = _taken_in(session, keys)
        raise SignupTaken(taken) from None


def _purge_lapsed(session: Session, keys: _Keys, now: datetime) -> None:
    session.exec(
        delete(Account).where(
            Account.status == AccountStatus.PENDING,
            Account.expires_at < now,  # type: ignore[operator]
            or_(Account.login_key == keys.login_key, Account.email_key == keys.email_key),
        )
    )


def _taken_in(session: Session, keys: _Keys) -> frozenset[str]:
    taken: set[str] = set()
    if session.exec(select(Account.id).where(Account.login_key == keys.login_key)).first():
        taken.add("login")
    if _confirmed_owner(session, keys.email_key) is not None:
        taken.add("email")
    return frozenset(taken or {"login"})


def _confirmed_owner(session: Session, email_key: str) -> str | None:
    return session.exec(
        select(Account.id).where(Account.email_key == email_key, Account.status == AccountStatus.ACTIVE)
    ).first()


def release(session: Session, account_id: str) -> None:
    """Undo ``reserve`` when the workflow could not be started."""
    with transaction(session):
        session.exec(delete(Account).where(Account.id == account_id, Account.status == AccountStatus.PENDING))


@dataclass(frozen=True)
class IssuedLink:
    token: str
    login: str
    email: str


def issue_confirmation_link(
    session: Session, account_id: str, *, seq: int, signup_expires_at: datetime, now: datetime
) -> IssuedLink | None:
    """Create a link token for send number ``seq``; ``None`` if the sign-up is no longer pending.

    Also extends the account's claim to the sign-up's full lifetime, and kills the
    links of earlier sends (a resend makes older links stop working).
    """
    token = new_token()
    with transaction(session):
        account = session.get(Account, account_id)
        if account is None or account.status != AccountStatus.PENDING:
            return None
        account.expires_at = signup_expires_at
        session.exec(
            delete(ConfirmationToken).where(
                ConfirmationToken.account_id == account_id, ConfirmationToken.seq < seq
            )
        )
        session.add(ConfirmationToken(account_id=account_id, token_hash=hash_token(token), seq=seq, created_at=now))
        return IssuedLink(token=token, login=account.login, email=account.email)


class ConfirmOutcome(StrEnum):
    CONFIRMED = "confirmed"
    ALREADY_CONFIRMED = "already_confirmed"
    EXPIRED = "expired"
    INVALID = "invalid"
    SUPERSEDED = "superseded"  # another sign-up confirmed this address first; this one is gone


@dataclass(frozen=True)
class ConfirmResult:
    outcome: ConfirmOutcome
    account_id: str | None = None
    # Pending sign-ups of the same address that this confirmation ended (deleted).
    superseded: tuple[str, ...] = ()


def peek_confirmation(session: Session, token: str, *, now: datetime) -> ConfirmResult:
    """What confirming this token would do, without doing it (for the confirm page)."""
    with transaction(session):
        result, _row = _classify(session, token, now)
        if result.outcome is ConfirmOutcome.CONFIRMED and result.account_id is not None:
            account = session.get(Account, result.account_id)
            if account is not None and _confirmed_owner(session, account.email_key) is not None:
                return ConfirmResult(ConfirmOutcome.SUPERSEDED, result.account_id)
        return result


def confirm(session: Session, token: str, *, now: datetime) -> ConfirmResult:
    """Activate the account behind a link token, once; end the other sign-ups of its address."""
    try:
        with transaction(session):
            result, row = _classify(session, token, now)
            if result.outcome is not ConfirmOutcome.CONFIRMED or row is None:
                return result
            return _activate(session, row, now)
    except IntegrityError:
        # The partial unique index: another account of this address became active
        # between our check and our update (only possible without row locks).
        return _supersede(session, token)


def _activate(session: Session, row: ConfirmationToken, now: datetime) -> ConfirmResult:
    account_id = row.account_id
    email_key = session.exec(select(Account.email_key).where(Account.id == account_id)).first()
    if email_key is None:
        return ConfirmResult(ConfirmOutcome.EXPIRED)
    # Lock every account of this address in one order (PostgreSQL; SQLite serialises
    # writers anyway): two confirmations of one address queue here, never deadlock.
    holders = session.exec(
        select(Account.id, Account.status)
        .where(Account.email_key == email_key)
        .order_by(Account.id)
        .with_for_update()
    ).all()
    statuses = dict(holders)
    if account_id not in statuses:
        # Deleted while we waited: superseded by the winner, or expired.
        if AccountStatus.ACTIVE in statuses.values():
            return ConfirmResult(ConfirmOutcome.SUPERSEDED, account_id)
        return ConfirmResult(ConfirmOutcome.EXPIRED)
    if statuses[account_id] == AccountStatus.ACTIVE:
        return ConfirmResult(ConfirmOutcome.ALREADY_CONFIRMED, account_id)
    if AccountStatus.ACTIVE in statuses.values():
        # The address was confirmed by another sign-up (one made after that): this one ends.
        session.exec(delete(Account).where(Account.id == account_id, Account.status == AccountStatus.PENDING))
        return ConfirmResult(ConfirmOutcome.SUPERSEDED, account_id, superseded=(account_id,))
    activated = session.exec(
        update(Account)
        .where(Account.id == account_id, Account.status == AccountStatus.PENDING, Account.expires_at > now)
        .values(status=AccountStatus.ACTIVE, activated_at=now, expires_at=None)
    )
    if activated.rowcount != 1:
        # Without row locks (SQLite) a concurrent winner may have deleted this sign-up
        # after we read the holders; otherwise it expired just now.
        if _confirmed_owner(session, email_key) is not None:
            return ConfirmResult(ConfirmOutcome.SUPERSEDED, account_id)
        return ConfirmResult(ConfirmOutcome.EXPIRED)
    row.used_at = now
    session.add(row)
    session.exec(
        delete(ConfirmationToken).where(ConfirmationToken.account_id == account_id, ConfirmationToken.id != row.id)
    )
    losers = tuple(other for other, status in holders if other != account_id and status == AccountStatus.PENDING)
    if losers:
        session.exec(delete(Account).where(Account.id.in_(losers), Account.status == AccountStatus.PENDING))  # type: ignore[attr-defined]
    return ConfirmResult(ConfirmOutcome.CONFIRMED, account_id, superseded=losers)


def _supersede(session: Session, token: str) -> ConfirmResult:
    """After a unique-index conflict: delete this pending sign-up, its address is taken."""
    with transaction(session):
        row = session.exec(select(ConfirmationToken).where(ConfirmationToken.token_hash == hash_token(token))).first()
        if row is None:
            return ConfirmResult(ConfirmOutcome.SUPERSEDED)
        account_id = row.account_id
        session.exec(delete(Account).where(Account.id == account_id, Account.status == AccountStatus.PENDING))
        return ConfirmResult(ConfirmOutcome.SUPERSEDED, account_id, superseded=(account_id,))


def _classify(session: Session, token: str, now: datetime) -> tuple[ConfirmResult, ConfirmationToken | None]:
    row = session.exec(select(ConfirmationToken).where(ConfirmationToken.token_hash == hash_token(token))).first()
    if row is None:
        return ConfirmResult(ConfirmOutcome.INVALID), None
    account = session.get(Account, row.account_id)
    if account is None:
        return ConfirmResult(ConfirmOutcome.EXPIRED), None
    if account.status == AccountStatus.ACTIVE:
        return ConfirmResult(ConfirmOutcome.ALREADY_CONFIRMED, account.id), row
    if account.expires_at is None or as_utc(account.expires_at) <= now:
        return ConfirmResult(ConfirmOutcome.EXPIRED, account.id), row
    return ConfirmResult(ConfirmOutcome.CONFIRMED, account.id), row


def expire(session: Session, account_id: str) -> bool:
    """Delete a still-pending account (and, by cascade, its links).

    True when the sign-up is gone (deleted now, or purged earlier after its claim
    lapsed); False when the account had been activated meanwhile.
    """
    with transaction(session):
        session.exec(delete(Account).where(Account.id == account_id, Account.status == AccountStatus.PENDING))
        return session.get(Account, account_id) is None
