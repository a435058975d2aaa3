"""Input models of the forms, with the per-field Russian messages customers see."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError, field_validator

from lkk import validation

FIELD_REQUIRED = "Заполните это поле."


class RegistrationForm(BaseModel):
    login: str
    email: str
    phone: str | None = None
    password: str
    password_confirm: str
    captcha_id: str = ""
    captcha_answer: str = ""
    captcha_solution: str = ""

    @field_validator("login")
    @classmethod
    def _login(cls, value: str) -> str:
        return validation.normalize_login(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return validation.normalize_email(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return validation.normalize_phone(value)


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Map pydantic errors to one Russian message per field."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "form"
        if field in errors:
            continue
        if err["type"] == "value_error":
            errors[field] = str(err["ctx"]["error"])
        elif err["type"] in ("missing", "string_type"):
            errors[field] = FIELD_REQUIRED
        else:
            errors[field] = "Проверьте значение."
    return errors


def parse_registration(
    data: dict[str, Any], *, password_min: int, password_max: int
) -> tuple[RegistrationForm | None, dict[str, str]]:
    """Validate every field at once, so the customer sees every problem in one go
    (the captcha is checked beside it, in ``api.services.registration.check_form``)."""
    errors: dict[str, str] = {}
    form: RegistrationForm | None = None
    try:
        form = RegistrationForm.model_validate(data)
    except ValidationError as exc:
        errors.update(field_errors(exc))
    password = data.get("password") or ""
    if "password" not in errors:
        try:
            validation.check_password(
                password, min_length=password_min, max_length=password_max, login=data.get("login") or None
            )
        except ValueError as err:
            errors["password"] = str(err)
    if "password_confirm" not in errors and password != (data.get("password_confirm") or ""):
        errors["password_confirm"] = "Пароли не совпадают."
    return (form if not errors else None), errors
