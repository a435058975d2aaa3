"""The errors that cross the Temporal boundary, by type name.

Temporal carries an ``ApplicationError`` as its message, details and ``type`` string
only: a client or a workflow gets back a plain ``ApplicationError``, never the class
that was raised. So each error here is a class (raise it, and its ``type`` is set)
and a matcher (``ResendCooldown.matches(err.cause)``) for the side that receives it;
nobody compares type strings by hand. The type names are on the wire (histories,
retry policies): never rename them.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeGuard

from temporalio.exceptions import ActivityError, ApplicationError


class WorkflowError(ApplicationError):
    """Base of the service's application errors: the subclass fixes ``type``."""

    TYPE: ClassVar[str]

    def __init__(self, message: str, *details: Any, non_retryable: bool = False) -> None:
        super().__init__(message, *details, type=self.TYPE, non_retryable=non_retryable)

    @classmethod
    def matches(cls, error: BaseException | None) -> TypeGuard[ApplicationError]:
        """True for this error as received: raised here, or rebuilt by the SDK as the
        ``cause`` of an ``ActivityError`` or ``WorkflowUpdateFailedError``."""
        return isinstance(error, ApplicationError) and error.type == cls.TYPE


# --- raised by activities, handled by workflows -------------------------------------


class MailRejectedError(WorkflowError):
    """The mail server refused the e-mail for good (SMTP 5xx): retrying cannot help.
    The message is the server's reason, shown to support."""

    TYPE = "MailRejected"

    def __init__(self, reason: str) -> None:
        super().__init__(reason, non_retryable=True)


def mail_rejection(err: ActivityError) -> str | None:
    """The mail server's reason when a mailing activity failed because the letter was
    refused for good; None when the server was unreachable (retried until given up)."""
    cause = err.cause
    return cause.message if MailRejectedError.matches(cause) else None


class BindingRequestGone(WorkflowError):
    """The parked binding attempt is void, handled already, or another cabinet's: the
    customer submits the form again."""

    TYPE = "BindingRequestGone"

    def __init__(self, message: str = "binding request is gone", *, non_retryable: bool = True) -> None:
        super().__init__(message, non_retryable=non_retryable)


# --- raised by workflows, handled by the API ----------------------------------------


class BindingUnavailable(WorkflowError):
    """The binding could not be checked in time (registry or database trouble)."""

    TYPE = "BindingUnavailable"

    def __init__(self, message: str = "binding could not be checked") -> None:
        super().__init__(message)


class BindRefused(WorkflowError):
    """Raised by the onboarding's bind validator: the API then uses the ``ContractBinding`` workflow."""


class WrongAccount(BindRefused):
    TYPE = "WrongAccount"

    def __init__(self) -> None:
        super().__init__("another account")


class OnboardingClosed(BindRefused):
    TYPE = "OnboardingClosed"

    def __init__(self) -> None:
        super().__init__("onboarding is over")


class ResendRefused(WorkflowError):
    """Raised by the onboarding's resend validator; the subclass tells the API which message to show."""


class AlreadyConfirmed(ResendRefused):
    TYPE = "AlreadyConfirmed"

    def __init__(self) -> None:
        super().__init__("e-mail already confirmed")


class ResendLimit(ResendRefused):
    TYPE = "ResendLimit"

    def __init__(self) -> None:
        super().__init__("no resends left")


class ResendCooldown(ResendRefused):
    """Carries the seconds left of the cooldown as its one detail."""

    TYPE = "ResendCooldown"

    def __init__(self, wait_seconds: float) -> None:
        super().__init__("resend cooldown", wait_seconds)

    @staticmethod
    def retry_after_seconds(error: ApplicationError, default: int = 60) -> int:
        """Whole seconds the customer waits (rounded up past the remaining fraction)."""
        return int(float(error.details[0])) + 1 if error.details else default


# --- company accounts: the Invitation workflow's update validators -----------------------


class InvitationNotPending(WorkflowError):
    """Raised by the ``accept``, ``revoke`` and ``resend`` validators once the invitation
    is accepted, revoked, expired or undeliverable (its one detail: the stage's value)."""

    TYPE = "InvitationNotPending"

    def __init__(self, stage: str) -> None:
        super().__init__("invitation is no longer pending", stage)
