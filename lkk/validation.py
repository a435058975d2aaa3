"""Validation of what a customer types, with the Russian message shown next to the field.

Each ``normalize_*`` returns the canonical value or raises ``ValueError`` whose text is
the customer-facing message. The annotated types below (``Login``, ``Email``, ``Phone``,
``NewPassword``) carry them into every model that takes such a value: the sign-up form
and its JSON twin (``lkk.models.SignupCreate``), the table, any import. ``field_messages``
turns a model's validation errors into one Russian message per field.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Annotated, Any

import idna
import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, ValidationError, ValidationInfo
from pydantic_core import InitErrorDetails

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


def _new_password(value: str, info: ValidationInfo) -> str:
    """``check_password`` inside a model: the login is the model's (when it was valid), the
    lengths are the settings' (``context={"settings": ...}``, else this process's)."""
    settings = (info.context or {}).get("settings")
    if settings is None:  # the API's own: ``api.main.create_app`` reads the same environment
        from lkk.settings import get_settings

        try:
            settings = get_settings()
        except ValueError as err:  # a broken environment is no mistake of the customer's
            raise RuntimeError("settings unavailable for the password policy") from err
    check_password(
        value,
        min_length=settings.password_min_length,
        max_length=settings.password_max_length,
        login=info.data.get("login") or None,
    )
    return value


# What a customer types, as field types: canonical value, or the field's Russian message.
Login = Annotated[str, AfterValidator(normalize_login)]
Email = Annotated[str, AfterValidator(normalize_email)]
Phone = Annotated[str | None, AfterValidator(normalize_phone)]  # optional: "" becomes None
NewPassword = Annotated[str, AfterValidator(_new_password)]  # declare it after the login

FIELD_REQUIRED = "Заполните это поле."
CHECK_VALUE = "Проверьте значение."
PASSWORDS_DIFFER = "Пароли не совпадают."


def error_text(err: Mapping[str, Any], messages: Mapping[str, str], default: str | None = None) -> str:
    """The Russian text of one pydantic error: our validator's own message, else the one
    ``messages`` has for its type, else ``default`` (None: pydantic's own)."""
    error = (err.get("ctx") or {}).get("error")
    if isinstance(error, ValueError):
        return str(error)
    return messages.get(err["type"], err["msg"] if default is None else default)


# A form's field left out, or not text at all, is asked for; any other mistake is pointed at.
_FORM_MESSAGES = {"missing": FIELD_REQUIRED, "string_type": FIELD_REQUIRED}


def field_messages(errors: Iterable[Mapping[str, Any]], *, skip: int = 0) -> dict[str, str]:
    """One Russian message per field from pydantic errors (``skip`` leading location parts,
    e.g. 1 for FastAPI's ``("body", field)``); the first error of a field wins. Every form
    uses it: sign-up, passwords, contract binding."""
    messages: dict[str, str] = {}
    for err in errors:
        loc = tuple(err["loc"])[skip:]
        field = str(loc[0]) if loc else "form"
        if field not in messages:
            messages[field] = error_text(err, _FORM_MESSAGES, CHECK_VALUE)
    return messages


def confirmed(field: str, confirmation: str, message: str = PASSWORDS_DIFFER) -> Callable[..., Any]:
    """A wrap ``model_validator``: ``confirmation`` must repeat ``field`` as typed. Told
    beside the other mistakes (even when ``field`` itself is refused, as a form does)."""

    def check(cls: type, data: Any, handler: Callable[[Any], Any]) -> Any:
        raw = data if isinstance(data, Mapping) else getattr(data, "__dict__", {})
        typed, repeated = raw.get(field, ""), raw.get(confirmation, "")
        if not isinstance(typed, str) or not isinstance(repeated, str) or typed == repeated:
            return handler(data)
        line_errors: list[InitErrorDetails] = []
        try:
            handler(data)
        except ValidationError as exc:
            line_errors = [_again(err) for err in exc.errors()]
        if not any(tuple(err["loc"])[:1] == (confirmation,) for err in line_errors):
            line_errors.append(
                {"type": "value_error", "loc": (confirmation,), "input": repeated, "ctx": {"error": ValueError(message)}}
            )
        raise ValidationError.from_exception_data(cls.__name__, line_errors)

    return check


def _again(err: Mapping[str, Any]) -> InitErrorDetails:
    details: InitErrorDetails = {"type": err["type"], "loc": tuple(err["loc"]), "input": err.get("input")}
    if err.get("ctx"):
        details["ctx"] = err["ctx"]
    return details
