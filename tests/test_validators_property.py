"""Property tests of the validators: whatever a customer types (any Unicode), a
validator returns the canonical value or raises ValueError with a Russian message,
and normalising a canonical value changes nothing; what they accept, every database
(SQLite and PostgreSQL) can carry."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import Engine

from lkk import validation
from lkk.billing import identifiers

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
# Any code point, surrogates and control characters included: browsers and JSON can send them.
ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=80)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Normalizer = Callable[[str], object]

NORMALIZERS: dict[str, Normalizer] = {
    "login": validation.normalize_login,
    "email": validation.normalize_email,
    "phone": validation.normalize_phone,
    "inn": identifiers.normalize_inn,
    "kpp": identifiers.normalize_kpp,
    "contract_number": identifiers.normalize_contract_number,
    "binding_code": identifiers.normalize_binding_code,
}


def _check(normalize: Normalizer, value: str) -> None:
    try:
        canonical = normalize(value)
    except ValueError as err:
        assert type(err) is ValueError, type(err)  # not a subclass leaking from a library
        assert CYRILLIC.search(str(err)), f"message not in Russian: {err!r}"
        return
    if canonical is not None:
        assert isinstance(canonical, str)
        assert normalize(canonical) == canonical, f"not idempotent: {value!r} -> {canonical!r}"


@pytest.mark.parametrize("name", sorted(NORMALIZERS))
@FAST
@given(value=ANY_TEXT)
@example(value="")
@example(value="\x00")
@example(value="\ud800")
@example(value=" " * 70)
@example(value="№ 7701–000123")
@example(value="+7 912 345-67-89")
@example(value="ООО@пример.рф")
def test_any_text_gives_a_canonical_value_or_a_russian_message(name: str, value: str) -> None:
    _check(NORMALIZERS[name], value)


# Near-valid inputs, so the idempotence half is exercised, not only the error half.


@FAST
@given(st.from_regex(r"\s?[A-Za-z0-9][A-Za-z0-9._@-]{1,70}\s?", fullmatch=True))
def test_login_like(value: str) -> None:
    _check(validation.normalize_login, value)
    if 3 <= len(value.strip()) <= 64:
        assert validation.normalize_login(value) == value.strip()


@FAST
@given(st.emails())
def test_email_like(value: str) -> None:
    _check(validation.normalize_email, value)


@FAST
@given(st.from_regex(r"(\+7|8)[ (]?91[2-6][) ]?[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{2}", fullmatch=True))
def test_russian_phone_like(value: str) -> None:
    _check(validation.normalize_phone, value)
    assert validation.normalize_phone(value).startswith("+79")  # type: ignore[union-attr]


def _inn10(digits: list[int]) -> str:
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    check = sum(w * d for w, d in zip(weights, digits)) % 11 % 10
    return "".join(map(str, digits)) + str(check)


@FAST
@given(st.lists(st.integers(0, 9), min_size=9, max_size=9), st.sampled_from(["", " ", "  "]))
def test_valid_inn_is_canonical(digits: list[int], pad: str) -> None:
    inn = _inn10(digits)
    assert identifiers.normalize_inn(pad + inn + pad) == inn
    _check(identifiers.normalize_inn, inn[:-1] + str((int(inn[-1]) + 1) % 10))  # broken check digit


@FAST
@given(st.from_regex(r"[0-9]{4}[0-9A-Za-z]{2}[0-9]{3}", fullmatch=True))
def test_kpp_like(value: str) -> None:
    _check(identifiers.normalize_kpp, value)
    assert identifiers.normalize_kpp(value) == value.upper()


@FAST
@given(st.from_regex(r"\s?№?\s?[0-9A-Za-zА-Яа-я][0-9A-Za-zА-Яа-я./\-–—]{1,30}[0-9A-Za-zА-Яа-я]", fullmatch=True))
def test_contract_number_like(value: str) -> None:
    _check(identifiers.normalize_contract_number, value)


@FAST
@given(st.text(alphabet=identifiers.CODE_ALPHABET + "abcdefghАВЕКМНРСТХУ- ", min_size=6, max_size=12))
def test_binding_code_like(value: str) -> None:
    _check(identifiers.normalize_binding_code, value)


@FAST
@given(password=st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=200), login=ANY_TEXT)
@example(password="\u0000" * 12, login="")
@example(password="ﬀﬀﬀﬀﬀﬀﬀﬀ", login="")  # NFKC expands ligatures: length counted after it
@example(password="пароль-и-ещё-символы", login="пароль")
def test_passwords_with_any_unicode_only_ever_fail_with_a_russian_message(password: str, login: str) -> None:
    try:
        validation.check_password(password, min_length=8, max_length=128, login=login or None)
    except ValueError as err:
        assert type(err) is ValueError
        assert CYRILLIC.search(str(err))


# The database leg (SQLite and PostgreSQL through the `engine` fixture): a canonical value
# goes into queries as it is, and PostgreSQL refuses text SQLite takes (NUL). Whatever a
# validator accepts must therefore be text every database can carry.
ON_A_DATABASE = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


@pytest.mark.parametrize("name", sorted(NORMALIZERS))
@ON_A_DATABASE
@given(value=ANY_TEXT)
@example(value="\x00")
@example(value="ooo\x00romashka")
@example(value="\ud800")
@example(value="buh\x00@romashka.ru")
@example(value="7701\x00-000101")
def test_accepted_values_are_text_every_database_can_carry(name: str, value: str, engine: Engine) -> None:
    try:
        canonical = NORMALIZERS[name](value)
    except ValueError:
        return
    if canonical is None:
        return
    with engine.connect() as connection:
        assert connection.execute(text("SELECT :value"), {"value": canonical}).scalar_one() == canonical
