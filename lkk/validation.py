"""Validation of what a customer types, with the Russian message shown next to the field.

Each ``normalize_*`` returns the canonical value or raises ``ValueError`` whose text is
the customer-facing message. The pydantic forms in ``api/schemas`` call these.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import idna
import phonenumbers
from email_validator import EmailNotValidError, validate_email

from lkk.ru_numbers import plural

LOGIN_MIN = 3
LOGIN_MAX = 64
# Latin letters, digits and . _ - @ : what people type as a login on a Russian
# utility site, and nothing that could be confused in support calls.
_LOGIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")


def normalize_login(value: str) -> str:
    login = value.strip()
    if not login:
        raise ValueError("Укажите логин.")
    if len(login) < LOGIN_MIN or len(login) > LOGIN_MAX:
        raise ValueError(f"Логин должен содержать от {LOGIN_MIN} до {LOGIN_MAX} символов.")
    if not _LOGIN_RE.fullmatch(login):
        raise ValueError(
            "Логин может содержать только латинские буквы, цифры и знаки . _ - @ "
            "и должен начинаться с буквы или цифры."
        )
    return login


def login_key(login: str) -> str:
    """Logins are unique regardless of case."""
    return login.strip().casefold()


EMAIL_LOCAL_PART_NOT_ASCII = (
    "Часть адреса до знака @ может содержать только латинские буквы, цифры и знаки . _ - +: "
    "письмо на такой адрес не дойдёт. Проверьте раскладку клавиатуры."
)


def normalize_email(value: str) -> str:
    candidate = value.strip()
    if not candidate:
        raise ValueError("Укажите адрес электронной почты.")
    local = candidate.rpartition("@")[0]
    if local and not local.isascii():
        # Our mail goes out without SMTPUTF8: such an address cannot be delivered to.
        raise ValueError(EMAIL_LOCAL_PART_NOT_ASCII)
    try:
        result = validate_email(candidate, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise ValueError("Введите адрес электронной почты в формате name@example.ru.") from None
    return result.normalized


def email_key(email: str) -> str:
    """One form for addresses that look the same: lower-cased local part, IDN domain as
    lower-case punycode (so ``почта.рф``, ``ПОЧТА.РФ`` and ``xn--80a1acny.xn--p1ai`` match)."""
    local, at, domain = email.strip().rpartition("@")
    if not at:
        return email.strip().lower()
    return f"{local.lower()}@{ascii_domain(domain)}"


def ascii_domain(domain: str) -> str:
    """The domain as SMTP carries it (punycode, UTS #46 mapping: full-width and upper case folded)."""
    try:
        return idna.encode(domain, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError):
        return unicodedata.normalize("NFKC", domain).lower()


def smtp_address(email: str) -> str | None:
    """The address as an ASCII-only SMTP envelope needs it; None when it cannot be one."""
    local, at, domain = email.strip().rpartition("@")
    if not at or not local.isascii():
        return None
    ascii_dom = ascii_domain(domain)
    return f"{local}@{ascii_dom}" if ascii_dom.isascii() else None


def normalize_phone(value: str | None) -> str | None:
    """Optional; Russian numbers may be typed as 8 (xxx) ... or +7 ...; stored as E.164."""
    if value is None or not value.strip():
        return None
    try:
        number = phonenumbers.parse(value.strip(), "RU")
    except phonenumbers.NumberParseException:
        raise ValueError("Введите номер телефона, например +7 912 345-67-89.") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("Такого номера телефона не существует. Проверьте цифры.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30 000 most common leaked passwords.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _symbols(n: int) -> str:
    return plural(n, "символа", "символов", "символов")  # after «не менее / не более»


def check_password(password: str, *, min_length: int, max_length: int, login: str | None = None) -> None:
    """OWASP/NIST policy: length, no composition rules, no common or login-derived passwords."""
    normalized = unicodedata.normalize("NFKC", password)
    length = len(normalized)
    if length < min_length:
        raise ValueError(f"Пароль должен содержать не менее {min_length} {_symbols(min_length)}.")
    if length > max_length:
        raise ValueError(f"Пароль должен содержать не более {max_length} {_symbols(max_length)}.")
    if not normalized.strip():
        raise ValueError("Пароль не может состоять только из пробелов.")
    lowered = normalized.casefold()
    if lowered in _common_passwords() or len(set(lowered)) <= 2:
        raise ValueError("Этот пароль слишком простой и часто встречается. Придумайте другой.")
    if login and login_key(login) in lowered:
        raise ValueError("Пароль не должен содержать логин.")
