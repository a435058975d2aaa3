"""Typed refusals of company accounts (``lkk.errors.ServiceError``).

The stores and the service raise them; ``api/errors.py`` gives each its HTTP status and
Russian sentence. A contract the account has no access to at all is
``lkk.billing.errors.ContractNotBound`` (404): nobody learns that someone else holds it.
"""

from __future__ import annotations

from lkk.company.models import InvitationStatus
from lkk.errors import ServiceError, TooManyAttempts


class NoRights(ServiceError):
    """The account sees the contract («Просмотр») but the action needs «Администратор»."""


class LastAdministrator(ServiceError):
    """The change would leave a contract without an administrator."""


class MemberNotFound(ServiceError):
    """The login named has no access to the contract (or does not exist: one answer)."""


class ContractFull(ServiceError):
    """``max_users_per_contract`` reached (members and pending invitations together)."""

    def __init__(self, contract_number: str, limit: int) -> None:
        super().__init__(
            {"contract_numbers": f"К договору № {contract_number} уже имеют доступ или приглашены {limit} "
             "пользователей — это предел."}
        )
        self.contract_number = contract_number
        self.limit = limit


class TooManyPendingInvitations(ServiceError):
    """``max_pending_invitations_per_admin`` reached."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit


class TooManyInvitations(TooManyAttempts):
    """``max_invitations_per_hour_per_admin`` reached; lifts after ``retry_after_seconds``."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__()
        self.retry_after_seconds = retry_after_seconds


class InvitationNotFound(ServiceError):
    """No invitation with this id among those the administrator may manage, or a link
    whose token matches nothing."""


class InvitationClosed(ServiceError):
    """The invitation is no longer pending; ``status`` says what became of it."""

    def __init__(self, status: InvitationStatus) -> None:
        super().__init__()
        self.status = status


class EmailMismatch(ServiceError):
    """Accepting while logged in with an account whose e-mail is not the invited one."""


class ResendTooSoon(TooManyAttempts):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__()
        self.retry_after_seconds = retry_after_seconds


class ResendsUsedUp(ServiceError):
    """The invitation's letter was re-sent as often as ``invitation_max_resends`` allows."""
