"""The billing registry as the cabinet sees it: a small protocol plus its SQL version.

Activities and routes depend on ``BillingRegistry`` only, so the billing system's HTTP
API can replace ``SqlBillingRegistry`` later. Everything crossing the protocol is a
plain model (the ``…Public`` of ``lkk.billing.models``, safe for Temporal payloads); no
table row leaks out. The SQL registry keeps its own engine, as that HTTP client would
keep its own connection: it is the other system, not the cabinet's unit of work.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Protocol, runtime_checkable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from lkk.billing.codes import default_hasher
from lkk.billing.identifiers import normalize_binding_code, normalize_contract_number, normalize_inn, normalize_kpp
from lkk.billing.models import (
    Contract,
    ContractPublic,
    ContractStatus,
    Meter,
    MeteringPoint,
    MeteringPointPublic,
    MeterPublic,
)
from lkk.timeutil import as_utc


class VerificationStatus(StrEnum):
    OK = "ok"
    WRONG_DATA = "wrong_data"  # one outcome for every mismatch: never says which field
    CLOSED = "closed"  # all data right, but the contract is closed


class VerificationResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: VerificationStatus
    contract_number: str


@runtime_checkable
class BillingRegistry(Protocol):
    def verify_binding(
        self, contract_number: str, inn: str, kpp: str | None, code: str, now: datetime
    ) -> VerificationResult:
        """Check the four binding fields against billing; CLOSED only when all match."""
        ...

    def contract_details(self, numbers: Sequence[str]) -> list[ContractPublic]:
        """The known contracts among ``numbers``, in the given order, with ТУ and ПУ."""
        ...


class SqlBillingRegistry:
    """The registry backed by the tables ``lkk.billing.importer`` fills."""

    def __init__(self, engine: Engine, hasher: PasswordHasher | None = None) -> None:
        self._engine = engine
        self._hasher = hasher or default_hasher()
        self._dummy_hash = _dummy_hash(self._hasher)

    def verify_binding(
        self, contract_number: str, inn: str, kpp: str | None, code: str, now: datetime
    ) -> VerificationResult:
        fields = _normalized_or_none(contract_number, inn, kpp, code)
        number, inn_n, kpp_n, code_n = fields.number, fields.inn, fields.kpp, fields.code
        with Session(self._engine) as session:
            contract = session.exec(select(Contract).where(Contract.number == number)).first() if number else None
        stored = contract.binding_code_hash if contract and contract.binding_code_hash else None
        code_ok = self._verify(stored or self._dummy_hash, code_n or "-") and stored is not None
        ok = (
            contract is not None
            and fields.well_formed
            and code_ok
            and contract.code_expires_at is not None
            and as_utc(contract.code_expires_at) > as_utc(now)
            and hmac.compare_digest(contract.inn, inn_n or "")
            and (contract.kpp or "") == (kpp_n or "")
        )
        result_number = number or contract_number.strip()
        if not ok or contract is None:
            return VerificationResult(status=VerificationStatus.WRONG_DATA, contract_number=result_number)
        if contract.status == ContractStatus.CLOSED:
            return VerificationResult(status=VerificationStatus.CLOSED, contract_number=result_number)
        return VerificationResult(status=VerificationStatus.OK, contract_number=result_number)

    def _verify(self, code_hash: str, code: str) -> bool:
        try:
            return self._hasher.verify(code_hash, code)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def contract_details(self, numbers: Sequence[str]) -> list[ContractPublic]:
        wanted = _normalized_numbers(numbers)
        if not wanted:
            return []
        with Session(self._engine) as session:
            contracts = session.exec(select(Contract).where(col(Contract.number).in_(wanted))).all()
            ids = [c.id for c in contracts]
            points = session.exec(
                select(MeteringPoint).where(col(MeteringPoint.contract_id).in_(ids)).order_by(MeteringPoint.external_id)
            ).all()
            meters = session.exec(
                select(Meter)
                .where(col(Meter.metering_point_id).in_([p.id for p in points]))
                .order_by(Meter.serial_number)
            ).all()
        meters_by_point: dict[int, list[MeterPublic]] = {}
        for m in meters:
            meters_by_point.setdefault(m.metering_point_id, []).append(MeterPublic.model_validate(m))
        points_by_contract: dict[int, list[MeteringPointPublic]] = {}
        for p in points:
            points_by_contract.setdefault(p.contract_id, []).append(
                MeteringPointPublic.model_validate(p, update={"meters": meters_by_point.get(p.id or 0, [])})
            )
        by_number = {
            c.number: ContractPublic.model_validate(c, update={"metering_points": points_by_contract.get(c.id or 0, [])})
            for c in contracts
        }
        return [by_number[n] for n in wanted if n in by_number]


@dataclass
class _Fields:
    number: str | None = None
    inn: str | None = None
    kpp: str | None = None
    code: str | None = None
    well_formed: bool = True


def _normalized_or_none(contract_number: str, inn: str, kpp: str | None, code: str) -> _Fields:
    """Malformed input simply cannot match; it still goes through the same work."""
    fields = _Fields()
    for name, fn, value in (
        ("number", normalize_contract_number, contract_number),
        ("inn", normalize_inn, inn),
        ("kpp", normalize_kpp, kpp),
        ("code", normalize_binding_code, code),
    ):
        try:
            setattr(fields, name, fn(value))  # type: ignore[operator]
        except ValueError:
            fields.well_formed = False
    return fields


@lru_cache(maxsize=8)
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Unknown contracts are checked against this, so that a miss costs one argon2
    verification like a hit does and timing does not tell whether a number exists."""
    return hasher.hash(secrets.token_urlsafe(16))


def _normalized_numbers(numbers: Sequence[str]) -> list[str]:
    out: list[str] = []
    for raw in numbers:
        try:
            number = normalize_contract_number(raw)
        except ValueError:
            continue
        if number not in out:
            out.append(number)
    return out
