"""Typed refusals of contract binding and unbinding (``lkk.errors.ServiceError``).

The contract service raises them; ``api/errors.py`` gives each its HTTP status and the
Russian sentence. A refused binding also says which ``BindStatus`` it was (the JSON
API's ``status`` field, the workflow's log) and, where known, the contract number.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Protocol

from lkk.errors import ServiceError, TooManyAttempts
from workflows.messages import BindStatus


class BindingRefused(ServiceError):
    """The binding did not happen; ``status`` says why."""

    status: ClassVar[BindStatus]

    def __init__(self, contract_number: str | None = None, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(fields)
        self.contract_number = contract_number
        self.retry_after_seconds: int | None = None


class BindingFieldsInvalid(BindingRefused):
    """Malformed fields (``fields``: field → Russian text); nothing was counted or kept."""

    status = BindStatus.INVALID


class ContractDataMismatch(BindingRefused):
    """Unknown number, or ИНН, КПП or code not matching it: one answer for all on purpose."""

    status = BindStatus.WRONG_DATA


class ContractBoundToAnother(BindingRefused):
    status = BindStatus.BOUND_TO_ANOTHER


class ContractClosed(BindingRefused):
    status = BindStatus.CLOSED


class BindingLocked(BindingRefused, TooManyAttempts):
    """Too many failed attempts on the contract number or by the cabinet."""

    status = BindStatus.LOCKED

    def __init__(self, contract_number: str | None, retry_after_seconds: int) -> None:
        super().__init__(contract_number)
        self.retry_after_seconds = retry_after_seconds


class ContractNotBound(ServiceError):
    """Unbinding a contract this cabinet does not hold (or a malformed number)."""


_BY_STATUS: dict[BindStatus, type[BindingRefused]] = {
    kind.status: kind for kind in (BindingFieldsInvalid, ContractDataMismatch, ContractBoundToAnother, ContractClosed)
}


class Outcome(Protocol):
    """A binding's outcome: ``lkk.billing.bindings.BindOutcome``, or the workflow's copy of it."""

    @property
    def status(self) -> BindStatus: ...
    @property
    def contract_number(self) -> str | None: ...
    @property
    def retry_after_seconds(self) -> int | None: ...


def refusal_of(outcome: Outcome) -> BindingRefused | None:
    """The error a refused outcome stands for; None when the contract is (already) bound."""
    if outcome.status in (BindStatus.BOUND, BindStatus.ALREADY_BOUND_TO_YOU):
        return None
    if outcome.status is BindStatus.LOCKED:
        return BindingLocked(outcome.contract_number, outcome.retry_after_seconds or 60)
    return _BY_STATUS[outcome.status](outcome.contract_number)
