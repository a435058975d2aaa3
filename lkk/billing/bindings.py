"""Binding contracts to cabinets: the cabinet-side store and its rules.

Order of checks in ``bind`` (why it is safe to tell the customer each outcome):

1. malformed fields never get here: ``BindingRequestCreate`` refused them (INVALID,
   about the input only, reveals nothing);
2. this cabinet already has access to the contract (bound it, or was invited to it)
   → ALREADY_BOUND_TO_YOU (the cabinet sees its own contracts anyway);
3. lockouts (per contract number and per cabinet) → LOCKED; unknown numbers lock
   just like known ones, so a lock says nothing about existence;
4. the registry checks number + ИНН + КПП + code → WRONG_DATA, one generic answer;
5. only now, with the code proven: CLOSED or BOUND_TO_ANOTHER, else BOUND.
   The UNIQUE contract number in ``contract_bindings`` decides a race.

Every function works in the caller's session (not ``lkk.store.transaction``: see
``lkk.billing``). ``unbind`` leaves the commit to the caller (one unit of work); ``bind`` commits at the rule's fixed points (the counted
attempt before the code is checked, the cleared counters, the binding), because a
count must be visible to parallel attempts at once.

Who may see a bound contract is ``lkk.company`` (``contract_members``): the binder is
its first «Администратор», in the binding's own commit; any administrator may unbind,
which ends every colleague's access and withdraws the contract from pending invitations. The Russian texts of the outcomes
are in ``api/errors.py`` (refusals) and ``api/services/contracts.py`` (success).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from lkk.billing.identifiers import normalize_contract_number
from lkk.billing.lockout import DEFAULT_POLICY, LockoutPolicy, Subject, clear, refund, reserve_attempt
from lkk.billing.models import AttemptSubject, BindingEvent, BindingEventKind, BindingRequestCreate, ContractBinding
from lkk.billing.registry import BillingRegistry, VerificationStatus
from lkk.company import access, audit, invitations, members
from lkk.company.locks import lock_contracts
from lkk.company.models import AuditAction, ContractMember, Role
from lkk.models import Account
from lkk.timeutil import as_utc
from workflows.messages import BindStatus  # the Temporal contract owns the outcome names


class BindOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: BindStatus
    contract_number: str | None = None
    retry_after_seconds: int | None = None  # LOCKED only

    @property
    def succeeded(self) -> bool:
        return self.status in (BindStatus.BOUND, BindStatus.ALREADY_BOUND_TO_YOU)


class UnbindOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    unbound: bool  # False: no such binding, or the account is not its administrator
    withdrawn: list[str] = []  # invitations revoked because this was their last contract


def bind(
    session: Session,
    account_id: str,
    form: BindingRequestCreate,
    registry: BillingRegistry,
    now: datetime,
    *,
    policy: LockoutPolicy = DEFAULT_POLICY,
) -> BindOutcome:
    """Bind a contract to the cabinet. Synchronous (argon2 is CPU-bound): call it from
    a sync activity or a worker thread."""
    number, now = form.contract_number, as_utc(now)

    if access.role_of(session, account_id, number) is not None:
        return BindOutcome(status=BindStatus.ALREADY_BOUND_TO_YOU, contract_number=number)

    subjects = [Subject(AttemptSubject.CONTRACT, number), Subject(AttemptSubject.ACCOUNT, account_id)]
    wait = reserve_attempt(session, subjects, now, policy)
    if wait is not None:
        # Submissions in flight count as guesses until they are checked, so a burst from one
        # cabinet can lock itself; once one of them has bound the contract, say that instead.
        if access.role_of(session, account_id, number) is not None:
            return BindOutcome(status=BindStatus.ALREADY_BOUND_TO_YOU, contract_number=number)
        return BindOutcome(status=BindStatus.LOCKED, contract_number=number, retry_after_seconds=wait)
    try:
        result = registry.verify_binding(number, form.inn, form.kpp, form.code, now)
    except BaseException:
        refund(session, subjects)  # the billing side failed, not the customer
        raise
    if result.status == VerificationStatus.WRONG_DATA:
        return BindOutcome(status=BindStatus.WRONG_DATA, contract_number=number)

    clear(session, subjects)  # the code is proven: whatever follows is not a guess
    if result.status == VerificationStatus.CLOSED:
        return BindOutcome(status=BindStatus.CLOSED, contract_number=number)
    return _insert_binding(session, account_id, number, now)


def unbind(session: Session, account_id: str, contract_number: str, now: datetime) -> UnbindOutcome:
    """An administrator releases the contract: every member's access ends with the binding,
    and pending invitations lose it. Not bound, or not an administrator → nothing happens."""
    try:
        number = normalize_contract_number(contract_number)
    except ValueError:
        return UnbindOutcome(unbound=False)
    now = as_utc(now)
    if not lock_contracts(session, [number]) or access.role_of(session, account_id, number) is not Role.ADMIN:
        return UnbindOutcome(unbound=False)
    login = session.exec(select(Account.login).where(Account.id == account_id)).first()
    # Explicit, though the foreign key cascades too: access must end with the binding everywhere.
    session.execute(
        delete(ContractMember)
        .where(ContractMember.contract_number == number)  # type: ignore[arg-type]
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(ContractBinding)
        .where(ContractBinding.contract_number == number)  # type: ignore[arg-type]
        .execution_options(synchronize_session=False)
    )
    session.add(_event(BindingEventKind.UNBOUND, number, account_id, now))
    withdrawn = invitations.withdraw_contract(session, number, now, account_id, login)
    audit.record(session, AuditAction.UNBOUND, [number], now=now, actor_account_id=account_id, actor_login=login)
    return UnbindOutcome(unbound=True, withdrawn=withdrawn)


def list_bound(session: Session, account_id: str) -> list[tuple[ContractBinding, Role]]:
    """Every contract the cabinet may see, with its role; oldest binding first."""
    return access.contracts_of(session, account_id)


def _insert_binding(session: Session, account_id: str, number: str, now: datetime) -> BindOutcome:
    try:
        session.add(ContractBinding(contract_number=number, account_id=account_id, bound_at=now))
        session.flush()  # the binding first: its unique index is the race's referee
        session.add(_event(BindingEventKind.BOUND, number, account_id, now))
        login = session.exec(select(Account.login).where(Account.id == account_id)).first() or ""
        members.add_binder(session, number, account_id, login, now)
        session.commit()
    except IntegrityError:
        session.rollback()
        holder = _holder(session, number)
        if holder is None:
            raise  # not a lost race (e.g. the account no longer exists)
        mine = holder == account_id or access.role_of(session, account_id, number) is not None
        status = BindStatus.ALREADY_BOUND_TO_YOU if mine else BindStatus.BOUND_TO_ANOTHER
        return BindOutcome(status=status, contract_number=number)
    return BindOutcome(status=BindStatus.BOUND, contract_number=number)


def _holder(session: Session, number: str) -> str | None:
    return session.exec(select(ContractBinding.account_id).where(ContractBinding.contract_number == number)).first()


def _event(kind: BindingEventKind, number: str, account_id: str, at: datetime) -> BindingEvent:
    return BindingEvent(kind=kind, contract_number=number, account_id=account_id, at=at)
