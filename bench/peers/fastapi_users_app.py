"""The peer of the benchmark: fastapi-users with the same job as ЛКК's sign-up and login.

Runs in its own virtualenv (bench/peers/requirements.txt, never the project's), on
the same database engine (SQLite file, aiosqlite) and the same argon2id parameters
(pwdlib's Argon2Hasher with m = LKK_ARGON2_MEMORY_KIB, t, p). Sign-up sends the
verification link by SMTP to the same sink as ЛКК (synchronously, as fastapi-users
apps usually do: from the on_after_request_verify hook). Login uses the database
session strategy, like ЛКК's server-side sessions.

    python -m bench.peers.fastapi_users_app          (creates the tables)
    uvicorn bench.peers.fastapi_users_app:app        (env: PEER_DB, PEER_SMTP_PORT, LKK_ARGON2_*)
"""

from __future__ import annotations

import os
import smtplib
import uuid
from collections.abc import AsyncGenerator
from email.message import EmailMessage

from fastapi import Depends, FastAPI, Request
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import AuthenticationBackend, CookieTransport
from fastapi_users.authentication.strategy.db import AccessTokenDatabase, DatabaseStrategy
from fastapi_users.password import PasswordHelper
from fastapi_users_db_sqlalchemy import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from fastapi_users_db_sqlalchemy.access_token import SQLAlchemyAccessTokenDatabase, SQLAlchemyBaseAccessTokenTableUUID
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from starlette.concurrency import run_in_threadpool

DB_PATH = os.environ.get("PEER_DB", "var/peer.db")
SMTP_PORT = int(os.environ.get("PEER_SMTP_PORT", "1025"))
SECRET = "bench-peer-secret-0123456789abcdef0123456789"
HASHER = PasswordHash(
    (
        Argon2Hasher(
            memory_cost=int(os.environ.get("LKK_ARGON2_MEMORY_KIB", str(19 * 1024))),
            time_cost=int(os.environ.get("LKK_ARGON2_TIME_COST", "2")),
            parallelism=int(os.environ.get("LKK_ARGON2_PARALLELISM", "1")),
        ),
    )
)


class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    pass


class AccessToken(SQLAlchemyBaseAccessTokenTableUUID, Base):
    pass


engine = create_async_engine(f"sqlite+aiosqlite:///{DB_PATH}", connect_args={"timeout": 30})


@event.listens_for(engine.sync_engine, "connect")
def _pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # The same SQLite settings as ЛКК (lkk/db.py).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


session_maker = async_sessionmaker(engine, expire_on_commit=False)


async def get_session() -> AsyncGenerator[AsyncSession, None]:
    async with session_maker() as session:
        yield session


async def get_user_db(session: AsyncSession = Depends(get_session)):  # type: ignore[no-untyped-def]
    yield SQLAlchemyUserDatabase(session, User)


async def get_token_db(session: AsyncSession = Depends(get_session)):  # type: ignore[no-untyped-def]
    yield SQLAlchemyAccessTokenDatabase(session, AccessToken)


def _send_link(email: str, token: str) -> None:
    message = EmailMessage()
    message["From"] = "noreply@peer.example.ru"
    message["To"] = email
    message["Subject"] = "Verify your e-mail"
    message.set_content(f"http://peer.test/verify?token={token}")
    with smtplib.SMTP("127.0.0.1", SMTP_PORT, timeout=10) as smtp:
        smtp.send_message(message)


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = SECRET
    verification_token_secret = SECRET

    async def on_after_register(self, user: User, request: Request | None = None) -> None:
        await self.request_verify(user, request)

    async def on_after_request_verify(self, user: User, token: str, request: Request | None = None) -> None:
        await run_in_threadpool(_send_link, user.email, token)


async def get_user_manager(user_db=Depends(get_user_db)):  # type: ignore[no-untyped-def]
    yield UserManager(user_db, PasswordHelper(HASHER))


def get_strategy(token_db: AccessTokenDatabase[AccessToken] = Depends(get_token_db)) -> DatabaseStrategy:
    return DatabaseStrategy(token_db, lifetime_seconds=3600)


backend = AuthenticationBackend(
    name="cookie", transport=CookieTransport(cookie_secure=False), get_strategy=get_strategy
)
users = FastAPIUsers[User, uuid.UUID](get_user_manager, [backend])


async def create_schema() -> None:
    """Run once before uvicorn starts its workers (several workers would race to create it)."""
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


app = FastAPI()
app.include_router(users.get_auth_router(backend), prefix="/auth")
app.include_router(users.get_register_router(schemas.BaseUser[uuid.UUID], schemas.BaseUserCreate), prefix="/auth")
app.include_router(users.get_verify_router(schemas.BaseUser[uuid.UUID]), prefix="/auth")


if __name__ == "__main__":
    import asyncio

    asyncio.run(create_schema())
