"""Database tables of the billing registry and of contract bindings, with the models
that read and show them (SQLModel), one family per thing as in FastAPI's full-stack
template: ``…Base`` holds the fields and their validators (the annotated types of
``lkk.billing.identifiers``), ``…Create`` is what comes in (the billing export, the
binding form and its JSON twin), ``…Public`` what goes out (the registry's answer, the
Profile, the JSON API), and the table adds what only the database keeps.

Registry tables (contracts, metering points, meters) mirror the billing export.
Binding tables belong to the cabinet: they reference contracts by *number*, not by
foreign key, because the registry may later move to the billing system's own API.
Table models are not validated on construction (SQLModel), so the validators in a
``…Base`` run on what comes in and what goes out, never on a row being written.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, field_validator
from sqlalchemy import Column, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

import lkk.models  # noqa: F401  (the ``accounts`` table that contract_bindings references)
from lkk.billing.identifiers import (
    EXTERNAL_ID_MAX,
    Address,
    BindingCode,
    ContractNumber,
    CustomerName,
    ExternalId,
    Inn,
    Kpp,
    MeterSerial,
    OptionalDate,
    ShortText,
    kpp_matches_inn,
)

CONTRACT_NUMBER_MAX = 32
SERIAL_MAX = 32
INN_MAX = 12
KPP_MAX = 9

_LATIN_TO_CYRILLIC = str.maketrans("BHC", "ВНС")  # «СН2» typed with Latin look-alikes


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


def _contract_status(value: object) -> ContractStatus:
    try:
        return ContractStatus(str(value).strip().lower())
    except ValueError:
        raise ValueError("Статус договора: open (действует) или closed (закрыт).") from None


def _voltage_level(value: object) -> VoltageLevel:
    text = "".join(str(value).split()).replace("-", "").upper().translate(_LATIN_TO_CYRILLIC)
    try:
        return VoltageLevel(text)
    except ValueError:
        raise ValueError("Уровень напряжения: одно из ВН, СН1, СН2, НН.") from None


Status = Annotated[ContractStatus, BeforeValidator(_contract_status)]
Voltage = Annotated[VoltageLevel, BeforeValidator(_voltage_level)]

# What comes from a billing export: every mistake is refused, nothing is ignored.
_IMPORTED = ConfigDict(extra="forbid", frozen=True)
# What crosses the ``BillingRegistry`` protocol: plain values, never a row.
_SHOWN = ConfigDict(frozen=True)


# --- meters (ПУ) -------------------------------------------------------------------------


class MeterBase(SQLModel):
    serial_number: MeterSerial = Field(sa_type=String(SERIAL_MAX), unique=True)
    model: ShortText = Field(sa_type=String(100))
    next_verification_date: OptionalDate = Field(default=None, sa_type=Date)


class Meter(MeterBase, table=True):
    """A meter (прибор учёта, ПУ) installed at a metering point."""

    __tablename__ = "meters"

    id: int | None = Field(default=None, primary_key=True)
    metering_point_id: int = Field(
        sa_column=Column(Integer, ForeignKey("metering_points.id", ondelete="CASCADE"), nullable=False, index=True)
    )


class MeterCreate(MeterBase):
    model_config = _IMPORTED


class MeterPublic(MeterBase):
    model_config = _SHOWN


# --- metering points (ТУ) ----------------------------------------------------------------


class MeteringPointBase(SQLModel):
    external_id: ExternalId = Field(sa_type=String(EXTERNAL_ID_MAX), unique=True)
    address: Address = Field(sa_type=String(500))
    voltage_level: Voltage = Field(sa_type=String(8))
    tariff: ShortText = Field(sa_type=String(100))


class MeteringPoint(MeteringPointBase, table=True):
    """A metering point (точка учёта, ТУ) of a contract, keyed by billing's own id."""

    __tablename__ = "metering_points"

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(
        sa_column=Column(Integer, ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False, index=True)
    )


class MeteringPointCreate(MeteringPointBase):
    """A ТУ of the export; a CSV row gives the fields without ``meters``."""

    model_config = _IMPORTED

    meters: list[MeterCreate] = []


class MeteringPointPublic(MeteringPointBase):
    model_config = _SHOWN

    meters: list[MeterPublic] = []


# --- contracts ---------------------------------------------------------------------------


class ContractBase(SQLModel):
    number: ContractNumber = Field(sa_type=String(CONTRACT_NUMBER_MAX), unique=True, description="normalised number")
    customer_name: CustomerName = Field(sa_type=String(300))
    inn: Inn = Field(sa_type=String(INN_MAX))
    # Validated even when absent: an organisation without a КПП is an error.
    kpp: Kpp = Field(default=None, sa_type=String(KPP_MAX), schema_extra={"validate_default": True})
    status: Status = Field(sa_type=String(16))

    _kpp_matches_inn = field_validator("kpp")(kpp_matches_inn)


class Contract(ContractBase, table=True):
    """An electricity supply contract as exported by billing. The binding code is
    stored only as an argon2id hash; the import never touches the code columns."""

    __tablename__ = "contracts"

    id: int | None = Field(default=None, primary_key=True)
    binding_code_hash: str | None = Field(default=None, max_length=255)
    code_issued_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    code_expires_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    created_at: datetime = Field(sa_column=_utc_column())
    updated_at: datetime = Field(sa_column=_utc_column())


class ContractCreate(ContractBase):
    """A contract of the export; a CSV row gives the fields without ``metering_points``."""

    model_config = _IMPORTED

    metering_points: list[MeteringPointCreate] = []


class ContractPublic(ContractBase):
    """A contract with its ТУ and ПУ, as the registry answers (``BillingRegistry``)."""

    model_config = _SHOWN

    metering_points: list[MeteringPointPublic] = []


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


# --- binding requests ----------------------------------------------------------------------


class BindingRequestBase(SQLModel):
    """The «Привязать договор» form without its secret: what is kept and shown again."""

    contract_number: ContractNumber = Field(sa_type=String(CONTRACT_NUMBER_MAX), schema_extra={"examples": ["7701-000101"]})
    inn: Inn = Field(sa_type=String(INN_MAX), schema_extra={"examples": ["0001473828"]})
    # Validated even when absent: the JSON API may leave it out for an organisation.
    kpp: Kpp = Field(
        default=None, sa_type=String(KPP_MAX), schema_extra={"validate_default": True, "examples": ["000101001"]}
    )

    _kpp_matches_inn = field_validator("kpp")(kpp_matches_inn)


class BindingRequestCreate(BindingRequestBase):
    """One binding attempt, normalised: the body of ``POST /api/v1/contracts`` and the
    Profile's form alike. Each bad field gets its own Russian message."""

    model_config = ConfigDict(frozen=True)

    code: BindingCode = Field(description="binding code from the supplier's office, e.g. KX7M-2QPA")


class BindingRequest(BindingRequestBase, table=True):
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
