"""Company accounts: who may use a bound contract, the invitations that grant it, and
the audit trail of both (SQLModel tables and the shapes that go in and out).

A contract bound by one cabinet user may be shared with colleagues. Access is a row
per (contract, account) in ``contract_members`` with a role: the user who bound the
contract is its first «Администратор»; colleagues join by accepting an invitation.
Unbinding the contract deletes its ``contract_bindings`` row, and the foreign key
cascades to every member row: nobody keeps a contract that is no longer bound.

One family per thing, as in ``lkk.models``: ``InvitationCreate`` is the body of the
«Пригласить пользователя» form and of ``POST /api/v1/invitations`` alike;
``…Public`` is what pages and the JSON API show; the tables add what only the
database keeps. The invitation link's token is stored as a SHA-256 hash only
(``lkk.security.tokens``), as the confirmation link's is.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, ConfigDict
from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

import lkk.billing.models  # noqa: F401  (``contract_bindings``, which members reference)
import lkk.models  # noqa: F401  (``accounts``)
from lkk.billing.identifiers import ContractNumber, clean_text
from lkk.billing.models import CONTRACT_NUMBER_MAX
from lkk.validation import Email

FULL_NAME_MAX = 200


def _utc_column(*, nullable: bool = False, index: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


def _full_name(value: str | None) -> str | None:
    """«ФИО» is optional: blank becomes None; otherwise cleaned like the registry's texts."""
    if value is None or not value.strip():
        return None
    return clean_text(value, FULL_NAME_MAX)


FullName = Annotated[str | None, AfterValidator(_full_name)]


def _chosen_contracts(numbers: list[str]) -> list[str]:
    """«Договоры»: at least one, each once (a form may post a checkbox twice)."""
    if not numbers:
        raise ValueError("Выберите хотя бы один договор.")
    return list(dict.fromkeys(numbers))


ChosenContracts = Annotated[list[ContractNumber], AfterValidator(_chosen_contracts)]


class Role(StrEnum):
    """«Права доступа». The wire values are stable; the Russian labels are ``ROLE_LABELS``."""

    VIEWER = "viewer"  # «Просмотр»: sees the contract, its ТУ and ПУ
    ADMIN = "admin"  # «Администратор»: also invites, changes rights, revokes and unbinds


ROLE_LABELS: dict[Role, str] = {Role.VIEWER: "Просмотр", Role.ADMIN: "Администратор"}


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"  # by an administrator, or because its contracts were unbound
    EXPIRED = "expired"
    UNDELIVERABLE = "undeliverable"  # the letter was refused for good


class AuditAction(StrEnum):
    """What «Журнал действий» records; one row per contract the action touched."""

    BOUND = "bound"
    UNBOUND = "unbound"
    INVITED = "invited"
    RESENT = "resent"
    ACCEPTED = "accepted"
    INVITATION_REVOKED = "invitation_revoked"
    INVITATION_EXPIRED = "invitation_expired"
    INVITATION_UNDELIVERABLE = "invitation_undeliverable"  # the letter was refused for good
    ACCESS_REVOKED = "access_revoked"
    ROLE_CHANGED = "role_changed"


# --- members ------------------------------------------------------------------------------


class ContractMember(SQLModel, table=True):
    """One account's access to one bound contract, with its role."""

    __tablename__ = "contract_members"
    __table_args__ = (UniqueConstraint("contract_number", "account_id"),)

    id: int | None = Field(default=None, primary_key=True)
    contract_number: str = Field(
        sa_column=Column(
            String(CONTRACT_NUMBER_MAX),
            ForeignKey("contract_bindings.contract_number", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    account_id: str = Field(
        sa_column=Column(String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    role: Role = Field(sa_column=Column(String(16), nullable=False))
    granted_by: str | None = Field(default=None, max_length=32)  # account id; None: the binder
    granted_at: datetime = Field(sa_column=_utc_column())


class MemberPublic(SQLModel):
    """A row of «Пользователи кабинета»: who has access to a contract and with which rights."""

    model_config = ConfigDict(frozen=True)

    contract_number: str
    login: str
    email: str
    role: Role
    granted_at: datetime


class RoleChange(SQLModel):
    """``PATCH /api/v1/contracts/{number}/members/{login}`` and its form: the new rights."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role


# --- invitations --------------------------------------------------------------------------


class InvitationBase(SQLModel):
    """What an administrator tells about the colleague: the address and, optionally, the name."""

    email: Email = Field(sa_type=AutoString(254), schema_extra={"examples": ["energetik@romashka.example.ru"]})
    full_name: FullName = Field(
        default=None, sa_type=AutoString(FULL_NAME_MAX), schema_extra={"examples": ["Иванов Иван Иванович"]}
    )
    role: Role = Field(default=Role.VIEWER, sa_column=Column(String(16), nullable=False))


class InvitationCreate(InvitationBase):
    """«Пригласить пользователя»: the form and ``POST /api/v1/invitations`` alike."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Validated even when absent: no contract chosen is told beside the other mistakes.
    contract_numbers: ChosenContracts = Field(
        default=[], max_length=50, description="«Договоры»", schema_extra={"validate_default": True}
    )


class Invitation(InvitationBase, table=True):
    """One invitation (its contracts are ``invitation_contracts``). Single use: the only
    way out of ``pending`` is one conditional UPDATE, so accept, revoke and expiry
    arriving together end with exactly one of them."""

    __tablename__ = "invitations"

    id: str = Field(primary_key=True, max_length=32)
    email_key: str = Field(max_length=254, index=True)
    inviter_account_id: str = Field(
        sa_column=Column(String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    status: InvitationStatus = Field(sa_column=Column(String(16), nullable=False, index=True))
    # SHA-256 of the link's token; replaced on each re-send (older links stop working).
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = Field(sa_column=_utc_column(index=True))
    expires_at: datetime = Field(sa_column=_utc_column())
    emails_sent: int = Field(default=0)
    accepted_account_id: str | None = Field(default=None, max_length=32)
    finished_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class InvitationContract(SQLModel, table=True):
    """A contract an invitation grants. No foreign key to the binding: unbinding withdraws
    the contract from pending invitations explicitly, and the history of closed ones stays."""

    __tablename__ = "invitation_contracts"

    invitation_id: str = Field(
        sa_column=Column(String(32), ForeignKey("invitations.id", ondelete="CASCADE"), primary_key=True)
    )
    contract_number: str = Field(sa_column=Column(String(CONTRACT_NUMBER_MAX), primary_key=True, index=True))


class InvitationPublic(SQLModel):
    """A pending invitation as «Пользователи кабинета» lists it («действует до …»)."""

    model_config = ConfigDict(frozen=True)

    id: str
    email: str
    full_name: str | None
    role: Role
    contract_numbers: list[str]
    status: InvitationStatus
    created_at: datetime
    expires_at: datetime
    emails_sent: int


# --- audit trail --------------------------------------------------------------------------


class AuditEvent(SQLModel, table=True):
    """«Журнал действий»: append-only, written in the same transaction as the change it
    records. No foreign keys: the trail outlives accounts and bindings."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    at: datetime = Field(sa_column=_utc_column(index=True))
    contract_number: str = Field(sa_column=Column(String(CONTRACT_NUMBER_MAX), nullable=False, index=True))
    action: AuditAction = Field(sa_column=Column(String(32), nullable=False))
    actor_account_id: str | None = Field(default=None, max_length=32)  # None: the service itself (expiry)
    actor_login: str | None = Field(default=None, max_length=64)
    subject: str | None = Field(default=None, max_length=254)  # the colleague: login, or e-mail while invited
    role: Role | None = Field(default=None, sa_column=Column(String(16), nullable=True))  # granted or new rights


class AuditEventPublic(SQLModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    contract_number: str
    action: AuditAction
    actor_login: str | None
    subject: str | None
    role: Role | None


class AuditPage(SQLModel):
    """One page of the trail, newest first."""

    events: list[AuditEventPublic]
    page: int
    pages: int
    total: int
