"""Binding contracts to cabinets: the cabinet-side store and its rules.

Order of checks in ``bind`` (why it is safe to tell the customer each outcome):

1. malformed fields → INVALID (about the input only, reveals nothing);
2. the contract is already in *this* cabinet → ALREADY_BOUND_TO_YOU (the cabinet sees
   its own contracts anyway);
3. lockouts (per contract number and per cabinet) → LOCKED; unknown numbers lock
   just like known ones, so a lock says nothing about existence;
4. the registry checks number + ИНН + КПП + code → WRONG_DATA, one generic answer;
5. only now, with the code proven: CLOSED or BOUND_TO_ANOTHER, else BOUND.
   The UNIQUE contract number in ``contract_bindings`` decides a race.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from lkk.billing.identifiers import InvalidBindingInput, normalize_contract_number, parse_binding_input
from lkk.billing.lockout import DEFAULT_POLICY, LockoutPolicy, Subject, clear, refund, reserve_attempt
from lkk.billing.models import AttemptSubject, BindingEvent, BindingEventKind, ContractBinding
from lkk.billing.registry import BillingRegistry, VerificationStatus
from lkk.db import session_scope
from lkk.timeutil import as_utc
from workflows.messages import BindStatus  # the Temporal contract owns the outcome names


class BindOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: BindStatus
    contract_number: str | None = None
    retry_after_seconds: int | None = None  # LOCKED only
    field_errors: dict[str, str] = {}  # INVALID only: field name → Russian message

    @property
    def succeeded(self) -> bool:
        return self.status in (BindStatus.BOUND, BindStatus.ALREADY_BOUND_TO_YOU)

    @property
    def message(self) -> str:
        """The Russian text for the customer."""
        return bind_message(self)


class BoundContract(BaseModel):
    model_config = ConfigDict(frozen=True)

    contract_number: str
    bound_at: datetime


def bind(
    engine: Engine,
    account_id: str,
    contract_number: str,
    registry: BillingRegistry,
    inn: str,
    kpp: str | None,
    code: str,
    now: datetime,
    *,
    policy: LockoutPolicy = DEFAULT_POLICY,
) -> BindOutcome:
    """Bind a contract to the cabinet; raw form values are normalised here. Synchronous
    (argon2 is CPU-bound): call it from a sync activity or a worker thread."""
    try:
        form = parse_binding_input(contract_number, inn, kpp, code)
    except InvalidBindingInput as exc:
        return BindOutcome(status=BindStatus.INVALID, field_errors=exc.field_errors)
    number, now = form.contract_number, as_utc(now)

    if _holder(engine, number) == account_id:
        return BindOutcome(status=BindStatus.ALREADY_BOUND_TO_YOU, contract_number=number)

    subjects = [Subject(AttemptSubject.CONTRACT, number), Subject(AttemptSubject.ACCOUNT, account_id)]
    wait = reserve_attempt(engine, subjects, now, policy)
    if wait is not None:
        return BindOutcome(status=BindStatus.LOCKED, contract_number=number, retry_after_seconds=wait)
    try:
        result = registry.verify_binding(number, form.inn, form.kpp, form.code, now)
    except BaseException:
        refund(engine, subjects)  # the billing side failed, not the customer
        raise
    if result.status == VerificationStatus.WRONG_DATA:
        return BindOutcome(status=BindStatus.WRONG_DATA, contract_number=number)

    clear(engine, subjects)  # the code is proven: whatever follows is not a guess
    if result.status == VerificationStatus.CLOSED:
        return BindOutcome(status=BindStatus.CLOSED, contract_number=number)
    return _insert_binding(engine, account_id, number, now)


def unbind(engine: Engine, account_id: str, contract_number: str, now: datetime) -> bool:
    """Release the cabinet's contract; False when this cabinet does not hold it."""
    try:
        number = normalize_contract_number(contract_number)
    except ValueError:
        return False
    with session_scope(engine) as session:
        result = session.execute(
            delete(ContractBinding).where(
                ContractBinding.contract_number == number,  # type: ignore[arg-type]
                ContractBinding.account_id == account_id,  # type: ignore[arg-type]
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        session.add(_event(BindingEventKind.UNBOUND, number, account_id, as_utc(now)))
    return True


def list_bound(engine: Engine, account_id: str) -> list[BoundContract]:
    """The cabinet's contracts, oldest binding first."""
    with Session(engine) as session:
        rows = session.exec(
            select(ContractBinding)
            .where(ContractBinding.account_id == account_id)
            .order_by(ContractBinding.bound_at, ContractBinding.contract_number)  # type: ignore[arg-type]
        ).all()
    return [BoundContract(contract_number=r.contract_number, bound_at=as_utc(r.bound_at)) for r in rows]


def _insert_binding(engine: Engine, account_id: str, number: str, now: datetime) -> BindOutcome:
    try:
        with session_scope(engine) as session:
            session.add(ContractBinding(contract_number=number, account_id=account_id, bound_at=now))
            session.flush()  # the binding first: its unique index is the race's referee
            session.add(_event(BindingEventKind.BOUND, number, account_id, now))
    except IntegrityError:
        holder = _holder(engine, number)
        if holder is None:
            raise  # not a lost race (e.g. the account no longer exists)
        status = BindStatus.ALREADY_BOUND_TO_YOU if holder == account_id else BindStatus.BOUND_TO_ANOTHER
        return BindOutcome(status=status, contract_number=number)
    return BindOutcome(status=BindStatus.BOUND, contract_number=number)


def _holder(engine: Engine, number: str) -> str | None:
    with Session(engine) as session:
        return session.exec(
            select(ContractBinding.account_id).where(ContractBinding.contract_number == number)
        ).first()


def _event(kind: BindingEventKind, number: str, account_id: str, at: datetime) -> BindingEvent:
    return BindingEvent(kind=kind, contract_number=number, account_id=account_id, at=at)


# --- Russian messages ---------------------------------------------------------------

MESSAGES: dict[BindStatus, str] = {
    BindStatus.BOUND: "Договор № {number} привязан к вашему личному кабинету.",
    BindStatus.ALREADY_BOUND_TO_YOU: "Договор № {number} уже привязан к вашему личному кабинету.",
    BindStatus.BOUND_TO_ANOTHER: "Этот договор уже привязан к другому личному кабинету. Обратитесь в офис поставщика.",
    BindStatus.WRONG_DATA: (
        "Данные договора не найдены. Проверьте номер договора, ИНН, КПП и код подтверждения."
    ),
    BindStatus.CLOSED: "Договор закрыт. Привязка невозможна.",
    BindStatus.LOCKED: "Слишком много неудачных попыток привязки. Повторите попытку через {wait}.",
    BindStatus.INVALID: "Проверьте правильность заполнения полей.",
}


def bind_message(outcome: BindOutcome) -> str:
    wait = russian_wait(outcome.retry_after_seconds or 60)
    return MESSAGES[outcome.status].format(number=outcome.contract_number or "", wait=wait)


def russian_wait(seconds: int) -> str:
    """«1 минуту», «3 минуты», «2 часа 5 минут» — rounded up to whole minutes."""
    minutes = max(1, -(-seconds // 60))
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} {_plural(hours, 'час', 'часа', 'часов')}")
    if minutes:
        parts.append(f"{minutes} {_plural(minutes, 'минуту', 'минуты', 'минут')}")
    return " ".join(parts)


def _plural(n: int, one: str, few: str, many: str) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many
