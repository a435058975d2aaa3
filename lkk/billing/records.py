"""Validated, normalised records of a billing export (one contract with its ТУ and ПУ).

Both file formats end up as ``ContractRecord`` objects; only the way errors are located
differs (CSV line, JSON path). Messages are Russian, like the shared validators'.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from lkk.billing.identifiers import ContractNumber, Inn, Kpp, MeterSerial, check_inn_kpp_pair
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


def _clean_text_upto(max_length: int) -> AfterValidator:
    """``clean_text`` with a fixed limit, as metadata for ``Annotated[str, ...]``."""

    def clean(value: str) -> str:
        return clean_text(value, max_length)

    return AfterValidator(clean)


# Free-text field types; the limits match the database columns.
ShortText = Annotated[str, _clean_text_upto(100)]  # meter model, tariff
Address = Annotated[str, _clean_text_upto(500)]
CustomerName = Annotated[str, _clean_text_upto(300)]
# Before the date parser, so the Russian ``31.03.2027`` form and "" are accepted.
OptionalDate = Annotated[date | None, BeforeValidator(parse_date)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MeterRecord(_Record):
    serial_number: MeterSerial
    model: ShortText
    next_verification_date: OptionalDate = None


class PointFields(_Record):
    external_id: str
    address: Address
    voltage_level: VoltageLevel
    tariff: ShortText

    @field_validator("external_id")
    @classmethod
    def _external_id(cls, v: str) -> str:
        text = v.strip()
        if not (len(text) <= EXTERNAL_ID_MAX and _EXTERNAL_ID_RE.fullmatch(text)):
            raise ValueError(f"Код ТУ: от 1 до {EXTERNAL_ID_MAX} букв и цифр, допустимы . / _ : -")
        return text

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
    number: ContractNumber
    customer_name: CustomerName
    inn: Inn
    # Validated even when absent: an organisation's row without a КПП is an error.
    kpp: Kpp = Field(default=None, validate_default=True)
    status: ContractStatus

    @field_validator("kpp")
    @classmethod
    def _kpp_matches_inn(cls, kpp: str | None, info: ValidationInfo) -> str | None:
        # Runs after ``Kpp`` normalised the value; needs the ИНН, so it cannot be a type.
        if "inn" in info.data:  # only when the ИНН itself was valid
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
