from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.ru import inn as stdnum_inn

from pydantic import ValidationError

from lkk.ru_numbers import wait as russian_wait
from lkk.billing.codes import generate_code
from lkk.billing.identifiers import (
    CODE_ALPHABET,
    MSG_INN_CHECKSUM,
    MSG_INN_FORMAT,
    MSG_KPP_FORBIDDEN,
    MSG_KPP_FORMAT,
    MSG_KPP_REQUIRED,
    format_binding_code,
    normalize_binding_code,
    normalize_contract_number,
    normalize_inn,
    normalize_kpp,
)
from lkk.billing.models import BindingRequestCreate
from lkk.validation import field_messages

# --- ИНН ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["0001473828", " 0001473828 ", "000173615803", "7707 083893"])
def test_inn_valid(raw: str) -> None:
    assert normalize_inn(raw) == "".join(raw.split())


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("0001473829", MSG_INN_CHECKSUM),
        ("000173615804", MSG_INN_CHECKSUM),
        ("12345", MSG_INN_FORMAT),
        ("00014738281", MSG_INN_FORMAT),  # 11 digits
        ("000147382A", MSG_INN_FORMAT),
        ("٠٠٠١٤٧٣٨٢٨", MSG_INN_FORMAT),  # Arabic-Indic digits are not digits here
    ],
)
def test_inn_invalid(raw: str, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        normalize_inn(raw)
    assert str(exc.value) == message


def test_inn_empty() -> None:
    with pytest.raises(ValueError, match="Укажите ИНН"):
        normalize_inn("  ")


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_inn10_with_computed_check_digit_is_valid(body: str) -> None:
    inn = body + stdnum_inn.calc_company_check_digit(body)
    assert normalize_inn(f" {inn} ") == inn


@given(st.text(alphabet="0123456789", min_size=9, max_size=9), st.integers(1, 9))
def test_inn10_with_wrong_check_digit_is_refused(body: str, shift: int) -> None:
    wrong = (int(stdnum_inn.calc_company_check_digit(body)) + shift) % 10
    with pytest.raises(ValueError) as exc:
        normalize_inn(body + str(wrong))
    assert str(exc.value) == MSG_INN_CHECKSUM


@given(st.text(alphabet="0123456789", min_size=10, max_size=10), st.integers(1, 9))
def test_inn12_check_digits(body: str, shift: int) -> None:
    inn = body + stdnum_inn.calc_personal_check_digits(body)
    assert normalize_inn(inn) == inn
    broken = inn[:-1] + str((int(inn[-1]) + shift) % 10)
    with pytest.raises(ValueError):
        normalize_inn(broken)


@given(st.text(max_size=14))
def test_inn_never_crashes_otherwise(raw: str) -> None:
    try:
        result = normalize_inn(raw)
    except ValueError:
        return
    assert result.isascii() and result.isdigit() and len(result) in (10, 12)


# --- КПП ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("000101001", "000101001"), ("7701AB001", "7701AB001"), ("7701ab001", "7701AB001"), ("", None), (None, None)],
)
def test_kpp_valid(raw: str | None, expected: str | None) -> None:
    assert normalize_kpp(raw) == expected


@pytest.mark.parametrize("raw", ["00010100", "0001010011", "A00101001", "0001010A1", "7701АБ001", "7701-01-001"])
def test_kpp_invalid(raw: str) -> None:
    with pytest.raises(ValueError) as exc:
        normalize_kpp(raw)
    assert str(exc.value) == MSG_KPP_FORMAT


@given(st.from_regex(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}", fullmatch=True))
def test_kpp_property_valid(kpp: str) -> None:
    assert normalize_kpp(kpp.lower()) == kpp


@given(st.text(alphabet="0123456789ABZ", min_size=0, max_size=12).filter(lambda s: len(s) != 9 and s))
def test_kpp_property_wrong_length(kpp: str) -> None:
    with pytest.raises(ValueError):
        normalize_kpp(kpp)


# --- contract numbers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("7701-000123", "7701-000123"),
        ("  № 7701–000123 ", "7701-000123"),  # en dash from a Word document
        ("№7701-000123", "7701-000123"),
        ("эс-12/2024", "ЭС-12/2024"),
        ("ab.1", "AB.1"),
    ],
)
def test_contract_number_normalised(raw: str, expected: str) -> None:
    assert normalize_contract_number(raw) == expected


@pytest.mark.parametrize("raw", ["77", "7701 000123", "-7701", "7701-", "7701_000123", "7" * 33])
def test_contract_number_invalid(raw: str) -> None:
    with pytest.raises(ValueError, match="Номер договора"):
        normalize_contract_number(raw)


@given(st.text(max_size=40))
def test_contract_number_normalisation_is_idempotent(raw: str) -> None:
    try:
        once = normalize_contract_number(raw)
    except ValueError:
        return
    assert normalize_contract_number(once) == once
    assert 3 <= len(once) <= 32


# --- binding codes ------------------------------------------------------------------------


def test_code_normalisation() -> None:
    assert normalize_binding_code("kx7m-2qpa") == "KX7M2QPA"
    assert normalize_binding_code(" KX7M 2QPA ") == "KX7M2QPA"
    assert normalize_binding_code("КХ7М–2QРА") == "KX7M2QPA"  # Cyrillic К Х М Р А, en dash
    assert format_binding_code("kx7m2qpa") == "KX7M-2QPA"


@pytest.mark.parametrize(
    "raw", ["KX7M-2QP", "KX7M-2QPAB", "KX7M-2QP0", "KX7M-2QPO", "KX7M-2QP1", "KX7M-2QPI", "KX7M-2QPL"]
)
def test_code_invalid(raw: str) -> None:
    with pytest.raises(ValueError, match="Код подтверждения"):
        normalize_binding_code(raw)


@given(st.data())
def test_generated_codes_survive_how_people_type_them(data: st.DataObject) -> None:
    code = generate_code()
    assert len(code) == 8 and set(code) <= set(CODE_ALPHABET)
    typed = "".join(
        c.lower() if data.draw(st.booleans()) else c for c in format_binding_code(code)
    ) + data.draw(st.sampled_from(["", " ", "  "]))
    assert normalize_binding_code(typed) == code


# --- the binding form ---------------------------------------------------------------------


def _refused(contract_number: str, inn: str, kpp: str | None, code: str) -> dict[str, str]:
    with pytest.raises(ValidationError) as exc:
        BindingRequestCreate(contract_number=contract_number, inn=inn, kpp=kpp, code=code)
    return field_messages(exc.value.errors())


def test_binding_request_reports_each_bad_field() -> None:
    refused = _refused("7", "123", "x", "")
    assert set(refused) == {"contract_number", "inn", "kpp", "code"}
    assert refused["code"] == "Укажите код подтверждения."


def test_binding_request_inn_kpp_pair() -> None:
    assert _refused("7701-000101", "0001473828", "", "KX7M2QPA") == {"kpp": MSG_KPP_REQUIRED}
    assert _refused("7701-000103", "000173615803", "000101001", "KX7M2QPA") == {"kpp": MSG_KPP_FORBIDDEN}
    ok = BindingRequestCreate(contract_number=" 7701-000103", inn="000173615803", kpp="  ", code="kx7m-2qpa")
    assert (ok.contract_number, ok.kpp, ok.code) == ("7701-000103", None, "KX7M2QPA")


def test_an_organisation_left_without_kpp_is_asked_for_it() -> None:
    """The JSON API may leave ``kpp`` out: the pair is still checked."""
    with pytest.raises(ValidationError) as exc:
        BindingRequestCreate(contract_number="7701-000101", inn="0001473828", code="KX7M2QPA")
    assert field_messages(exc.value.errors()) == {"kpp": MSG_KPP_REQUIRED}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "1 минуту"),
        (60, "1 минуту"),
        (61, "2 минуты"),
        (300, "5 минут"),
        (11 * 60, "11 минут"),
        (21 * 60, "21 минуту"),
        (3600, "1 час"),
        (2 * 3600 + 5 * 60, "2 часа 5 минут"),
        (24 * 3600, "24 часа"),
    ],
)
def test_russian_wait(seconds: int, text: str) -> None:
    assert russian_wait(seconds) == text
