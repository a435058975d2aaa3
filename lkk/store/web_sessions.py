"""Server-side login sessions. The cookie carries a random token; the table holds
its SHA-256, so a database leak does not leak live sessions."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, select

from lkk.models import Account, AccountStatus, WebSession
from lkk.security.tokens import hash_token, new_token
from lkk.settings import Settings
from lkk.store import transaction
from lkk.timeutil import as_utc


def open_session(session: Session, settings: Settings, account_id: str, *, now: datetime) -> str:
    token = new_token()
    with transaction(session):
        session.add(
            WebSession(
                token_hash=hash_token(token),
                account_id=account_id,
                created_at=now,
                last_seen_at=now,
                absolute_expires_at=now + timedelta(seconds=settings.session_absolute_seconds),
            )
        )
    return token


def resolve(session: Session, settings: Settings, token: str, *, now: datetime) -> Account | None:
    """The active account behind a session cookie, sliding the idle timeout; None if expired."""
    with transaction(session):
        row = session.exec(select(WebSession).where(WebSession.token_hash == hash_token(token))).first()
        if row is None:
            return None
        idle_limit = as_utc(row.last_seen_at) + timedelta(seconds=settings.session_idle_seconds)
        if now >= idle_limit or now >= as_utc(row.absolute_expires_at):
            session.delete(row)
            return None
        account = session.get(Account, row.account_id)
        if account is None or account.status != AccountStatus.ACTIVE:
            return None
        row.last_seen_at = now
        session.add(row)
        return account


def close_session(session: Session, token: str) -> None:
    with transaction(session):
        session.exec(delete(WebSession).where(WebSession.token_hash == hash_token(token)))


def close_all_sessions(session: Session, account_id: str) -> None:
    with transaction(session):
        session.exec(delete(WebSession).where(WebSession.account_id == account_id))
