"""Typed refusals of the product's use cases.

Services and stores raise a subclass of ``ServiceError``; they never choose an HTTP
status or write the customer's sentence. ``api/errors.py`` is the one place that maps
each type to a status and a Russian message, for the JSON routes and the pages alike.
"""

from __future__ import annotations

from collections.abc import Mapping


class ServiceError(Exception):
    """A refusal the customer can act on.

    ``fields`` names the form fields the refusal belongs next to, with a message for
    each where the message depends on the case (a form with several mistakes is told
    all of them at once); a refusal with no fields is shown above the form.
    """

    def __init__(self, fields: Mapping[str, str] | None = None) -> None:
        self.fields: dict[str, str] = dict(fields or {})
        super().__init__(type(self).__name__, *self.fields)


class FormInvalid(ServiceError):
    """Fields the customer must correct, each with its message (every mistake at once)."""


class CaptchaFailed(FormInvalid):
    """The captcha was missing or wrong (the challenge is used up either way)."""


class SignupTaken(ServiceError):
    """The login belongs to a live account, and/or the e-mail to a confirmed one."""

    FIELD_TEXTS = {
        "login": "Этот логин уже занят. Придумайте другой.",
        "email": "Этот адрес электронной почты уже зарегистрирован. Войдите или восстановите пароль.",
    }

    def __init__(self, taken: "frozenset[str] | set[str] | tuple[str, ...]") -> None:
        super().__init__({name: self.FIELD_TEXTS[name] for name in ("login", "email") if name in taken})
        self.taken = frozenset(taken)


class PasswordRejected(ServiceError):
    """A new password was not stored: wrong current password, weak or mismatched new one,
    too many wrong attempts."""


# --- shared refusals (used by the contract routes now; login and the rest can use them) --


class NotSignedIn(ServiceError):
    """A signed-in cabinet's call without a valid session (or before a forced new password)."""


class TooManyAttempts(ServiceError):
    """A refusal that lifts by itself: try again after ``retry_after_seconds``
    (``api/errors.py`` sends it as the ``Retry-After`` header)."""

    retry_after_seconds: int | None = None
