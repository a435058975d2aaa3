"""Passwords of active accounts: look-up for login, re-hash, the recovery one-time
password (issue, use, expire) and password changes. Every change of the password
revokes all the account's sessions in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, select

from lkk.models import Account, AccountStatus, WebSession
from lkk.store import transaction
from lkk.timeutil import as_utc


@dataclass(frozen=True)
class Credentials:
    account_id: str
    password_hash: str
    otp_hash: str | None  # only while the one-time password is unexpired
    must_change_password: bool
    confirmed: bool = True  # False: a live sign-up whose e-mail is not confirmed yet


@dataclass(frozen=True)
class ResetMatch:
    account_id: str
    confirmed: bool  # False: recovery re-sends the confirmation link instead


@dataclass(frozen=True)
class Contact:
    login: str
    email: str


def for_login(session: Session, login_key: str, *, now: datetime) -> Credentials | None:
    """What a login checks against; None for unknown logins and lapsed sign-ups. A live
    unconfirmed sign-up is returned (``confirmed=False``) so that the right password can
    be told the e-mail is not confirmed yet; it never has a one-time password."""
    with transaction(session):
        account = session.exec(select(Account).where(Account.login_key == login_key)).first()
        if account is None or not _live(account, now):
            return None
        otp_live = account.status == AccountStatus.ACTIVE and account.otp_hash is not None and account.otp_expires_at is not None and as_utc(account.otp_expires_at) > now
        return Credentials(
            account_id=account.id,
            password_hash=account.password_hash,
            otp_hash=account.otp_hash if otp_live else None,
            must_change_password=account.must_change_password,
            confirmed=account.status == AccountStatus.ACTIVE,
        )


def find_for_reset(session: Session, login_key: str, email_key: str, *, now: datetime) -> ResetMatch | None:
    """The live account (active, or a sign-up not lapsed yet) with exactly this login and e-mail."""
    with transaction(session):
        account = session.exec(
            select(Account).where(Account.login_key == login_key, Account.email_key == email_key)
        ).first()
        if account is None or not _live(account, now):
            return None
        return ResetMatch(account_id=account.id, confirmed=account.status == AccountStatus.ACTIVE)


def _live(account: Account, now: datetime) -> bool:
    if account.status == AccountStatus.ACTIVE:
        return True
    return account.expires_at is not None and as_utc(account.expires_at) > now


def contact(session: Session, account_id: str) -> Contact | None:
    with transaction(session):
        account = session.get(Account, account_id)
        if account is None or account.status != AccountStatus.ACTIVE:
            return None
        return Contact(login=account.login, email=account.email)


def rehash(session: Session, account_id: str, old_hash: str, new_hash: str) -> bool:
    """Store a hash at the current argon2 parameters, unless the password changed meanwhile."""
    with transaction(session):
        result = session.exec(
            update(Account).where(Account.id == account_id, Account.password_hash == old_hash).values(password_hash=new_hash)
        )
        return result.rowcount == 1


def issue_one_time_password(session: Session, account_id: str, otp_hash: str, *, expires_at: datetime) -> Contact | None:
    """Store a new one-time password (replacing an older one); None if the account is not active.
    The real password is not touched: it keeps working until the one-time password is used."""
    with transaction(session):
        account = session.get(Account, account_id)
        if account is None or account.status != AccountStatus.ACTIVE:
            return None
        account.otp_hash = otp_hash
        account.otp_expires_at = expires_at
        session.add(account)
        return Contact(login=account.login, email=account.email)


def clear_expired_one_time_password(session: Session, account_id: str, *, now: datetime) -> bool:
    with transaction(session):
        result = session.exec(
            update(Account)
            .where(Account.id == account_id, Account.otp_hash.is_not(None), Account.otp_expires_at <= now)  # type: ignore[union-attr]
            .values(otp_hash=None, otp_expires_at=None)
        )
        return result.rowcount == 1


def use_one_time_password(session: Session, account_id: str, otp_hash: str, *, now: datetime) -> bool:
    """Swap the verified one-time password in as the password, once.

    The old password stops working, the customer must set their own next, and every
    session is revoked. False if it was used, replaced or expired meanwhile (a race).
    """
    with transaction(session):
        result = session.exec(
            update(Account)
            .where(
                Account.id == account_id,
                Account.status == AccountStatus.ACTIVE,
                Account.otp_hash == otp_hash,
                Account.otp_expires_at > now,  # type: ignore[operator]
            )
            .values(
                password_hash=otp_hash,
                otp_hash=None,
                otp_expires_at=None,
                must_change_password=True,
                password_changed_at=now,
            )
        )
        if result.rowcount != 1:
            return False
        session.exec(delete(WebSession).where(WebSession.account_id == account_id))
        return True


def set_password(session: Session, account_id: str, new_hash: str, *, now: datetime) -> None:
    """The customer's own new password: clears a pending recovery and revokes every session."""
    with transaction(session):
        session.exec(
            update(Account)
            .where(Account.id == account_id)
            .values(
                password_hash=new_hash,
                otp_hash=None,
                otp_expires_at=None,
                must_change_password=False,
                password_changed_at=now,
            )
        )
        session.exec(delete(WebSession).where(WebSession.account_id == account_id))
