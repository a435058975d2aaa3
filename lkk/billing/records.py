"""Validated, normalised records of a billing export (one contract with its ТУ and ПУ).

Both file formats end up as ``ContractRecord`` objects; only the way errors are located
differs (CSV line, JSON path). Messages are Russian, like the shared validators'.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from lkk.billing.identifiers import (
    check_inn_kpp_pair,
    normalize_contract_number,
    normalize_inn,
    normalize_kpp,
    normalize_meter_serial,
)
from lkk.billing.models import EXTERNAL_ID_MAX, ContractStatus, VoltageLevel

_LATIN_TO_CYRILLIC = str.maketrans("BHC", "ВНС")  # «СН2» typed with Latin look-alikes
_EXTERNAL_ID_RE = re.compile(r"[0-9A-Za-zА-Яа-яЁё][0-9A-Za-zА-Яа-яЁё./_:-]*")


def clean_text(value: str, max_length: int) -> str:
    """Trim and collapse runs of whitespace, so re-exports with stray spaces are no-ops."""
    text = " ".join(value.split())
    if not text:
        raise ValueError("Поле не заполнено.")
    if len(text) > max_length:
        raise ValueError(f"Не длиннее {max_length} символов.")
    return text


def parse_date(value: object) -> date | None:
    """ISO ``2027-03-31`` or Russian ``31.03.2027``; empty means unknown."""
    if value is None or isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("Ожидается дата в формате ГГГГ-ММ-ДД или ДД.ММ.ГГГГ.")
    text = value.strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError("Ожидается дата в формате ГГГГ-ММ-ДД или ДД.ММ.ГГГГ.")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MeterRecord(_Record):
    serial_number: str
    model: str
    next_verification_date: date | None = None

    @field_validator("serial_number")
    @classmethod
    def _serial(cls, v: str) -> str:
        return normalize_meter_serial(v)

    @field_validator("model")
    @classmethod
    def _model(cls, v: str) -> str:
        return clean_text(v, 100)

    @field_validator("next_verification_date", mode="before")
    @classmethod
    def _date(cls, v: object) -> date | None:
        return parse_date(v)


class PointFields(_Record):
    external_id: str
    address: str
    voltage_level: VoltageLevel
    tariff: str

    @field_validator("external_id")
    @classmethod
    def _external_id(cls, v: str) -> str:
        text = v.strip()
        if not (len(text) <= EXTERNAL_ID_MAX and _EXTERNAL_ID_RE.fullmatch(text)):
            raise ValueError(f"Код ТУ: от 1 до {EXTERNAL_ID_MAX} букв и цифр, допустимы . / _ : -")
        return text

    @field_validator("address")
    @classmethod
    def _address(cls, v: str) -> str:
        return clean_text(v, 500)

    @field_validator("tariff")
    @classmethod
    def _tariff(cls, v: str) -> str:
        return clean_text(v, 100)

    @field_validator("voltage_level", mode="before")
    @classmethod
    def _voltage(cls, v: object) -> VoltageLevel:
        text = "".join(str(v).split()).replace("-", "").upper().translate(_LATIN_TO_CYRILLIC)
        try:
            return VoltageLevel(text)
        except ValueError:
            raise ValueError("Уровень напряжения: одно из ВН, СН1, СН2, НН.") from None


class PointRecord(PointFields):
    meters: list[MeterRecord] = []


class ContractFields(_Record):
    number: str
    customer_name: str
    inn: str
    kpp: str | None = Field(default=None, validate_default=True)
    status: ContractStatus

    @field_validator("number")
    @classmethod
    def _number(cls, v: str) -> str:
        return normalize_contract_number(v)

    @field_validator("customer_name")
    @classmethod
    def _name(cls, v: str) -> str:
        return clean_text(v, 300)

    @field_validator("inn")
    @classmethod
    def _inn(cls, v: str) -> str:
        return normalize_inn(v)

    @field_validator("kpp")
    @classmethod
    def _kpp(cls, v: str | None, info: ValidationInfo) -> str | None:
        kpp = normalize_kpp(v)
        if "inn" in info.data:
            check_inn_kpp_pair(info.data["inn"], kpp)
        return kpp

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, v: object) -> ContractStatus:
        try:
            return ContractStatus(str(v).strip().lower())
        except ValueError:
            raise ValueError("Статус договора: open (действует) или closed (закрыт).") from None


class ContractRecord(ContractFields):
    metering_points: list[PointRecord] = []
