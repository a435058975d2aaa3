"""Database tables of the cabinet (SQLModel), and the shapes a sign-up comes in.

One model family per feature, as in FastAPI's full-stack template: ``SignupBase`` holds
what a customer tells about themselves (each field's type is its validator, from
``lkk.validation``); ``SignupCreate`` adds what only the form carries (passwords,
captcha), and is the body of both ``POST /register`` and ``POST /api/v1/registrations``;
the table ``Account`` stores the base fields as columns. A new field of the sign-up is
one line in ``SignupBase`` (plus its migration and its input in ``register.html``):
the form, the API, the service and the store pass the model through.

Nothing here crosses the Temporal boundary: workflows and activities exchange the
pydantic models of ``workflows.messages`` and refer to rows by id only.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import uuid4

from pydantic import ConfigDict, StringConstraints, model_validator
from sqlalchemy import Column, DateTime, ForeignKey, Index, LargeBinary, String, text
from sqlmodel import AutoString, Field, SQLModel

from lkk import validation
from lkk.validation import Email, Login, NewPassword, Phone

# Deterministic constraint names, the same on SQLite and PostgreSQL, so a later
# migration can drop or alter a constraint by name. Set before any table is defined
# (lkk.db.import_models imports this module first).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _uuid_hex() -> str:
    return uuid4().hex


def _utc_column(*, nullable: bool = False, index: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class AccountStatus(StrEnum):
    PENDING = "pending"  # signed up, e-mail not confirmed yet
    ACTIVE = "active"  # e-mail confirmed


# The address belongs to the account that confirmed it: unique among active accounts
# only, so a pending sign-up never keeps the address's owner out. A partial unique
# index (SQLite and PostgreSQL both have them) makes two simultaneous confirmations
# of one address end with exactly one winner.
CONFIRMED_EMAIL_INDEX = "uq_accounts_email_key_active"


class SignupBase(SQLModel):
    """What a customer tells about themselves when signing up; stored as it is (canonical).

    Column lengths are given as ``sa_type``, not ``max_length``: a too long value must get
    its field's own message from the validator, not a generic one."""

    # An empty or missing field gets its own message ("Укажите логин."), as on the form.
    model_config = ConfigDict(validate_default=True)  # type: ignore[assignment]

    login: Login = Field(default="", sa_type=AutoString(64), schema_extra={"examples": ["ooo-romashka"]})
    email: Email = Field(default="", sa_type=AutoString(254), schema_extra={"examples": ["buh@romashka.example.ru"]})
    phone: Phone = Field(
        default=None, sa_type=AutoString(20), description="E.164", schema_extra={"examples": ["+7 912 345-67-89"]}
    )


class SignupCreate(SignupBase):
    """The sign-up form, as a page posts it and as JSON alike: every field is checked in
    one round, and the captcha beside them (``api.captcha_view.checked_captcha``)."""

    password: NewPassword = ""
    password_confirm: str = ""
    captcha_id: str = Field(default="", max_length=64)
    captcha_answer: str = Field(default="", max_length=32, description="The characters of the picture.")
    captcha_solution: str = Field(
        default="", max_length=16, description="Or, without the picture: the number solving the challenge's puzzle."
    )

    _passwords_match = model_validator(mode="wrap")(validation.confirmed("password", "password_confirm"))


class InvitedAccountBase(SQLModel):
    """What a colleague tells about themselves when accepting an invitation without an
    account: the sign-up's fields but the e-mail, which comes from the invitation (the
    link proved it, so the account is active at once). The same annotated validators."""

    model_config = ConfigDict(validate_default=True)  # type: ignore[assignment]

    login: Login = Field(default="", sa_type=AutoString(64), schema_extra={"examples": ["energetik-romashka"]})
    phone: Phone = Field(
        default=None, sa_type=AutoString(20), description="E.164", schema_extra={"examples": ["+7 912 345-67-89"]}
    )


class InvitedAccountCreate(InvitedAccountBase):
    """«Принять приглашение» without an account: the page's form and the new-account part
    of ``POST /api/v1/invitations/accept``. No captcha: only the link's holder gets here."""

    password: NewPassword = ""
    password_confirm: str = ""

    _passwords_match = model_validator(mode="wrap")(validation.confirmed("password", "password_confirm"))


class InvitationAcceptance(SQLModel):
    """The body of «Принять приглашение» (page and ``POST /api/v1/invitations/accept``):
    the link's token, and for a new account its fields (checked as ``InvitedAccountCreate``
    only then; a logged-in colleague sends the token alone). The token is never in a URL
    of the API."""

    token: str = Field(default="", max_length=128)
    login: str = Field(default="", max_length=200)
    password: str = Field(default="", max_length=1024)
    password_confirm: str = Field(default="", max_length=1024)
    phone: str | None = Field(default=None, max_length=64)


class PasswordChange(SQLModel):
    """A new password typed twice, and the current one (not needed right after a
    recovery): the Profile's form, «Новый пароль» and ``PUT /api/v1/password`` alike.
    The service checks it (the policy needs the account's login)."""

    current_password: str = Field(default="", description="Not needed right after recovery.")
    new_password: str = ""
    new_password_confirm: str = ""


class ResetRequest(SQLModel):
    """«Забыли пароль?»: the login and e-mail given at sign-up, as typed (matched by key)."""

    login: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)]


class Account(SignupBase, table=True):
    """A cabinet user. The login is unique among live (pending or active) accounts; the
    e-mail only among active ones (several pending sign-ups may name one address until
    one of them is confirmed). An expired or superseded sign-up is deleted."""

    __tablename__ = "accounts"
    __table_args__ = (
        Index(
            CONFIRMED_EMAIL_INDEX,
            "email_key",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: str = Field(default_factory=_uuid_hex, primary_key=True, max_length=32)
    login_key: str = Field(max_length=64, unique=True, description="casefolded login")
    email_key: str = Field(max_length=254, index=True, description="lower-cased local part @ punycode domain")
    password_hash: str = Field(max_length=255)
    status: AccountStatus = Field(sa_column=Column(String(16), nullable=False, index=True))
    created_at: datetime = Field(sa_column=_utc_column())
    # For a pending account: when its reservation of login and e-mail lapses.
    expires_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True, index=True))
    activated_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    password_changed_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # Password recovery: the argon2 hash of the mailed one-time password and its expiry.
    # Separate from password_hash, so the old password keeps working until this one is used.
    otp_hash: str | None = Field(default=None, max_length=255)
    otp_expires_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # Set when the one-time password was used: the customer must choose their own first.
    must_change_password: bool = Field(default=False)


class ConfirmationToken(SQLModel, table=True):
    """A link sent by e-mail. Only the SHA-256 of the token is stored. ``seq`` is the
    send number within the sign-up: a resend (higher seq) kills older links, while
    retries of one send (same seq) each stay valid, so no delivered link goes dead."""

    __tablename__ = "confirmation_tokens"

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(
        sa_column=Column(String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    token_hash: str = Field(max_length=64, unique=True)
    seq: int
    created_at: datetime = Field(sa_column=_utc_column())
    used_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class WebSession(SQLModel, table=True):
    """A server-side login session; the cookie holds the token, the table its hash."""

    __tablename__ = "web_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    account_id: str = Field(
        sa_column=Column(String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    created_at: datetime = Field(sa_column=_utc_column())
    last_seen_at: datetime = Field(sa_column=_utc_column())
    absolute_expires_at: datetime = Field(sa_column=_utc_column())


class CaptchaChallenge(SQLModel, table=True):
    """An image captcha («код авторизации»): one answer attempt, then it is gone."""

    __tablename__ = "captcha_challenges"

    id: str = Field(primary_key=True, max_length=43)
    answer: str = Field(max_length=16)
    expires_at: datetime = Field(sa_column=_utc_column(index=True))
    # The PNG, rendered once: a reload must not give new noise to average over.
    image: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class LoginThrottle(SQLModel, table=True):
    """Failed logins per login key (the SHA-256 of the casefolded login, known or not),
    so lockouts grow across restarts and replicas and look alike for unknown logins."""

    __tablename__ = "login_throttles"

    key_hash: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    last_failure_at: datetime = Field(sa_column=_utc_column(index=True))
    locked_until: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class ParkedPasswordReset(SQLModel, table=True):
    """A recovery request that arrived while Temporal was unreachable: the API starts
    its workflow once Temporal answers again (one row per account: repeats join it)."""

    __tablename__ = "parked_password_resets"

    account_id: str = Field(
        sa_column=Column(String(32), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    )
    requested_at: datetime = Field(sa_column=_utc_column())


class ParkedPasswordNotice(SQLModel, table=True):
    """A "password changed" notice whose workflow could not start (Temporal unreachable):
    the password is already changed, so the owner must still be told, later."""

    __tablename__ = "parked_password_notices"

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(
        sa_column=Column(String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    reason: str = Field(max_length=32)
    changed_at: datetime = Field(sa_column=_utc_column())
    # Made when parked: the notice's workflow id, so a second start (another replica) is refused.
    nonce: str = Field(max_length=32)
