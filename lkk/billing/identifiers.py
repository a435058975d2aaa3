"""Validation and normalisation of what customers and billing exports type in.

Every function returns the canonical form or raises ``ValueError`` whose text is the
Russian message to show next to the field. Rules:

* ИНН: 10 digits (organisation) or 12 digits (individual entrepreneur), checked with
  the official check digits (``stdnum.ru.inn``). Spaces are ignored.
* КПП: 9 characters, ``NNNNPPNNN`` where ``PP`` are digits or capital Latin letters
  (Order of the Federal Tax Service). Optional: entrepreneurs have none.
* Contract number: surrounding spaces and a leading «№» dropped, upper-cased, Unicode
  dashes turned into ``-``; then 3–32 characters of digits, Latin or Cyrillic letters and
  ``. / -``, starting and ending with a letter or digit. Inner spaces are refused
  rather than guessed at.
* Binding code: 8 characters from ``CODE_ALPHABET`` (no 0/O, 1/I/L look-alikes),
  case-insensitive, spaces and dashes ignored, Cyrillic look-alike letters accepted
  (customers often type on a Russian keyboard layout).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, ValidationInfo
from stdnum.exceptions import InvalidChecksum, ValidationError as StdnumError
from stdnum.ru import inn as stdnum_inn

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8

_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})
_CYRILLIC_LOOKALIKES = str.maketrans("АВЕКМНРСТХУ", "ABEKMHPCTXY")
_CONTRACT_RE = re.compile(r"[0-9A-ZА-ЯЁ](?:[0-9A-ZА-ЯЁ./-]{1,30})[0-9A-ZА-ЯЁ]")
_KPP_RE = re.compile(r"\d{4}[\dA-Z]{2}\d{3}")
_SERIAL_RE = re.compile(r"[0-9A-ZА-ЯЁ](?:[0-9A-ZА-ЯЁ./_-]{0,30}[0-9A-ZА-ЯЁ])?")

MSG_CONTRACT_EMPTY = "Укажите номер договора."
MSG_CONTRACT_FORMAT = (
    "Номер договора указан неверно: допустимы цифры, буквы, точка, дефис и косая черта, "
    "от 3 до 32 символов (например, 7701-000123)."
)
MSG_INN_EMPTY = "Укажите ИНН."
MSG_INN_FORMAT = "ИНН должен состоять из 10 цифр (организация) или 12 цифр (индивидуальный предприниматель)."
MSG_INN_CHECKSUM = "ИНН указан с ошибкой: не сходится контрольное число. Проверьте ИНН."
MSG_KPP_FORMAT = (
    "КПП должен состоять из 9 символов: 4 цифры, затем 2 цифры или заглавные латинские буквы, "
    "затем 3 цифры (например, 770101001)."
)
MSG_KPP_REQUIRED = "Для организации (ИНН из 10 цифр) укажите КПП."
MSG_KPP_FORBIDDEN = "У индивидуального предпринимателя (ИНН из 12 цифр) КПП нет — оставьте поле пустым."
MSG_CODE_EMPTY = "Укажите код подтверждения."
MSG_CODE_FORMAT = (
    "Код подтверждения состоит из 8 латинских букв и цифр (например, KX7M-2QPA). "
    "Проверьте код, выданный в офисе поставщика."
)
MSG_SERIAL_FORMAT = "Заводской номер прибора учёта: от 1 до 32 цифр и букв, допустимы точка, дефис, косая черта и «_»."


def normalize_contract_number(value: str) -> str:
    text = value.strip().translate(_DASHES).upper()
    if text.startswith("№"):
        text = text[1:].lstrip()
    if not text:
        raise ValueError(MSG_CONTRACT_EMPTY)
    if not _CONTRACT_RE.fullmatch(text):
        raise ValueError(MSG_CONTRACT_FORMAT)
    return text


def normalize_inn(value: str) -> str:
    text = "".join(value.split())
    if not text:
        raise ValueError(MSG_INN_EMPTY)
    if not (text.isascii() and text.isdigit() and len(text) in (10, 12)):
        raise ValueError(MSG_INN_FORMAT)
    try:
        return stdnum_inn.validate(text)
    except InvalidChecksum:
        raise ValueError(MSG_INN_CHECKSUM) from None
    except StdnumError:
        raise ValueError(MSG_INN_FORMAT) from None


def is_entrepreneur_inn(inn: str) -> bool:
    return len(inn) == 12


def normalize_kpp(value: str | None) -> str | None:
    """Empty means "no КПП" (an entrepreneur)."""
    text = "".join((value or "").split()).upper()
    if not text:
        return None
    if not (text.isascii() and _KPP_RE.fullmatch(text)):
        raise ValueError(MSG_KPP_FORMAT)
    return text


def check_inn_kpp_pair(inn: str, kpp: str | None) -> None:
    """Organisations always have a КПП, entrepreneurs never do."""
    if is_entrepreneur_inn(inn) and kpp is not None:
        raise ValueError(MSG_KPP_FORBIDDEN)
    if not is_entrepreneur_inn(inn) and kpp is None:
        raise ValueError(MSG_KPP_REQUIRED)


def normalize_binding_code(value: str) -> str:
    text = "".join(value.split()).translate(_DASHES).replace("-", "").upper()
    text = text.translate(_CYRILLIC_LOOKALIKES)
    if not text:
        raise ValueError(MSG_CODE_EMPTY)
    if len(text) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in text):
        raise ValueError(MSG_CODE_FORMAT)
    return text


def format_binding_code(code: str) -> str:
    """How a code is printed for the customer: two groups of four, ``KX7M-2QPA``."""
    code = normalize_binding_code(code)
    return f"{code[:4]}-{code[4:]}"


def normalize_meter_serial(value: str) -> str:
    text = value.strip().translate(_DASHES).upper()
    if not _SERIAL_RE.fullmatch(text):
        raise ValueError(MSG_SERIAL_FORMAT)
    return text


# Field types for pydantic models: the binding form, the JSON API and the billing
# import share them, so each identifier rule (and its Russian message) lives in one place.
ContractNumber = Annotated[str, AfterValidator(normalize_contract_number)]
Inn = Annotated[str, AfterValidator(normalize_inn)]
# The whole union is normalised, so an empty string becomes None. Whether a КПП is
# required depends on the ИНН: models check that with ``kpp_matches_inn``.
Kpp = Annotated[str | None, AfterValidator(normalize_kpp)]
BindingCode = Annotated[str, AfterValidator(normalize_binding_code)]
MeterSerial = Annotated[str, AfterValidator(normalize_meter_serial)]


def kpp_matches_inn(kpp: str | None, info: ValidationInfo) -> str | None:
    """Field validator of ``kpp`` for every model with ``inn`` declared before it (the
    binding request, a contract of the billing export): ``field_validator("kpp")(kpp_matches_inn)``.
    Runs after ``Kpp`` normalised the value; needs the ИНН, so it cannot be a type."""
    if "inn" in info.data:  # only when the ИНН itself was valid
        check_inn_kpp_pair(info.data["inn"], kpp)
    return kpp


# --- free text and dates of the billing export -------------------------------------------

EXTERNAL_ID_MAX = 40
_EXTERNAL_ID_RE = re.compile(r"[0-9A-Za-zА-Яа-яЁё][0-9A-Za-zА-Яа-яЁё./_:-]*")
MSG_DATE_FORMAT = "Ожидается дата в формате ГГГГ-ММ-ДД или ДД.ММ.ГГГГ."


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
        raise ValueError(MSG_DATE_FORMAT)
    text = value.strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(MSG_DATE_FORMAT)


def normalize_external_id(value: str) -> str:
    """Billing's own id of a metering point (ТУ)."""
    text = value.strip()
    if not (len(text) <= EXTERNAL_ID_MAX and _EXTERNAL_ID_RE.fullmatch(text)):
        raise ValueError(f"Код ТУ: от 1 до {EXTERNAL_ID_MAX} букв и цифр, допустимы . / _ : -")
    return text


def _clean_text_upto(max_length: int) -> AfterValidator:
    """``clean_text`` with a fixed limit, as metadata for ``Annotated[str, ...]``."""

    def clean(value: str) -> str:
        return clean_text(value, max_length)

    return AfterValidator(clean)


# Free-text field types; the limits match the database columns.
ShortText = Annotated[str, _clean_text_upto(100)]  # meter model, tariff
Address = Annotated[str, _clean_text_upto(500)]
CustomerName = Annotated[str, _clean_text_upto(300)]
ExternalId = Annotated[str, AfterValidator(normalize_external_id)]
# Before the date parser, so the Russian ``31.03.2027`` form and "" are accepted.
OptionalDate = Annotated[date | None, BeforeValidator(parse_date)]
