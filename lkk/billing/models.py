"""Database tables of the billing registry and of contract bindings (SQLModel).

Registry tables (contracts, metering points, meters) mirror the billing export.
Binding tables belong to the cabinet: they reference contracts by *number*, not by
foreign key, because the registry may later move to the billing system's own API.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

import lkk.models  # noqa: F401  (the ``accounts`` table that contract_bindings references)

CONTRACT_NUMBER_MAX = 32
SERIAL_MAX = 32
EXTERNAL_ID_MAX = 40


def _utc_column(*, nullable: bool = False, index: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class ContractStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class VoltageLevel(StrEnum):
    """Tariff voltage levels of the Russian retail market."""

    VN = "ВН"  # high, 110 kV and above
    SN1 = "СН1"  # medium I, 35 kV
    SN2 = "СН2"  # medium II, 1–20 kV
    NN = "НН"  # low, 0.4 kV and below


class Contract(SQLModel, table=True):
    """An electricity supply contract as exported by billing. The binding code is
    stored only as an argon2id hash; the import never touches the code columns."""

    __tablename__ = "contracts"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=CONTRACT_NUMBER_MAX, unique=True, description="normalised number")
    customer_name: str = Field(max_length=300)
    inn: str = Field(max_length=12)
    kpp: str | None = Field(default=None, max_length=9)
    status: ContractStatus = Field(sa_column=Column(String(16), nullable=False))
    binding_code_hash: str | None = Field(default=None, max_length=255)
    code_issued_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    code_expires_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    created_at: datetime = Field(sa_column=_utc_column())
    updated_at: datetime = Field(sa_column=_utc_column())


class MeteringPoint(SQLModel, table=True):
    """A metering point (точка учёта, ТУ) of a contract, keyed by billing's own id."""

    __tablename__ = "metering_points"

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(max_length=EXTERNAL_ID_MAX, unique=True)
    contract_id: int = Field(
        sa_column=Column(Integer, ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    address: str = Field(max_length=500)
    voltage_level: VoltageLevel = Field(sa_column=Column(String(8), nullable=False))
    tariff: str = Field(max_length=100)


class Meter(SQLModel, table=True):
    """A meter (прибор учёта, ПУ) installed at a metering point."""

    __tablename__ = "meters"

    id: int | None = Field(default=None, primary_key=True)
    serial_number: str = Field(max_length=SERIAL_MAX, unique=True)
    metering_point_id: int = Field(
        sa_column=Column(Integer, ForeignKey("metering_points.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    model: str = Field(max_length=100)
    next_verification_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))


class ContractBinding(SQLModel, table=True):
    """Which cabinet holds a contract. The UNIQUE contract number is what lets exactly
    one cabinet win when two bind the same contract at the same moment."""

    __tablename__ = "contract_bindings"

    id: int | None = Field(default=None, primary_key=True)
    contract_number: str = Field(max_length=CONTRACT_NUMBER_MAX, unique=True)
    account_id: str = Field(
        sa_column=Column(String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    bound_at: datetime = Field(sa_column=_utc_column())


class BindingEventKind(StrEnum):
    BOUND = "bound"
    UNBOUND = "unbound"


class BindingEvent(SQLModel, table=True):
    """Append-only history of bindings. No foreign key to accounts on purpose: the
    history must outlive a deleted cabinet."""

    __tablename__ = "binding_events"

    id: int | None = Field(default=None, primary_key=True)
    kind: BindingEventKind = Field(sa_column=Column(String(16), nullable=False))
    contract_number: str = Field(max_length=CONTRACT_NUMBER_MAX, index=True)
    account_id: str = Field(max_length=32, index=True)
    at: datetime = Field(sa_column=_utc_column(index=True))


class BindingRequest(SQLModel, table=True):
    """A binding attempt from the form, waiting for the worker's verification activity.

    The workflow gets only this row's random id: the binding code must never enter
    workflow history. The code is sealed (``lkk.security.sealing``), the row is deleted
    as soon as the attempt is handled and is void after ``LKK_BINDING_REQUEST_TTL_SECONDS``.
    """

    __tablename__ = "binding_requests"

    id: str = Field(primary_key=True, max_length=32)
    account_id: str = Field(
        sa_column=Column(String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    contract_number: str = Field(max_length=CONTRACT_NUMBER_MAX)
    inn: str = Field(max_length=12)
    kpp: str | None = Field(default=None, max_length=9)
    code_sealed: str = Field(max_length=255)
    created_at: datetime = Field(sa_column=_utc_column())
    expires_at: datetime = Field(sa_column=_utc_column(index=True))


class AttemptSubject(StrEnum):
    CONTRACT = "contract"  # key: normalised contract number (known or not)
    ACCOUNT = "account"  # key: account id


class BindingAttemptCounter(SQLModel, table=True):
    """Failed binding attempts of one contract number or one cabinet, kept in the
    database so that a lockout survives restarts and is shared by all workers."""

    __tablename__ = "binding_attempt_counters"
    __table_args__ = (UniqueConstraint("subject_kind", "subject_key", name="uq_binding_attempt_subject"),)

    id: int | None = Field(default=None, primary_key=True)
    subject_kind: AttemptSubject = Field(sa_column=Column(String(16), nullable=False))
    subject_key: str = Field(max_length=64)
    failures: int = Field(default=0)
    locked_until: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    last_failure_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
