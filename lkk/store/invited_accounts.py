"""Accounts made by accepting an invitation: active at once, no confirmation letter.

The invitation's link went to the address and came back, which is what the
confirmation link proves for a sign-up; so the account is created ACTIVE with the
invited e-mail. The confirmed-address unique index still rules: an address that already
has an active account is refused (its owner logs in and accepts into that account),
and two acceptances racing for one address end with one account.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from lkk.errors import SignupTaken
from lkk.models import Account, AccountStatus, InvitedAccountBase
from lkk.store import transaction
from lkk.validation import email_key, login_key


def create_active(
    session: Session, fields: InvitedAccountBase, email: str, password_hash: str, *, now: datetime
) -> Account:
    """Insert the active account; ``SignupTaken`` naming the login and/or the e-mail."""
    keys = login_key(fields.login), email_key(email)
    account = Account.model_validate(
        {"login": fields.login, "email": email, "phone": fields.phone},
        update={
            "login_key": keys[0],
            "email_key": keys[1],
            "password_hash": password_hash,
            "status": AccountStatus.ACTIVE,
            "created_at": now,
            "activated_at": now,
        },
    )
    try:
        with transaction(session):
            # A sign-up whose claim lapsed keeps nobody out (as ``signups.reserve`` does).
            session.exec(
                delete(Account).where(
                    Account.status == AccountStatus.PENDING,
                    Account.expires_at < now,  # type: ignore[operator]
                    or_(Account.login_key == keys[0], Account.email_key == keys[1]),
                )
            )
            taken = _taken(session, *keys)
            if taken:
                raise SignupTaken(taken)
            session.add(account)
            session.flush()
            return account
    except IntegrityError:
        with transaction(session):
            taken = _taken(session, *keys)
        raise SignupTaken(taken or {"login"}) from None


def _taken(session: Session, login_key_: str, email_key_: str) -> set[str]:
    taken: set[str] = set()
    if session.exec(select(Account.id).where(Account.login_key == login_key_)).first():
        taken.add("login")
    active = select(Account.id).where(Account.email_key == email_key_, Account.status == AccountStatus.ACTIVE)
    if session.exec(active).first():
        taken.add("email")
    return taken


def discard(session: Session, account_id: str) -> None:
    """Undo ``create_active`` when the invitation was not accepted after all (revoked or
    used a moment earlier): the colleague keeps no account they did not ask for."""
    with transaction(session):
        session.exec(delete(Account).where(Account.id == account_id))
