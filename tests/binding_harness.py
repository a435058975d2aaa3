"""Helpers of the contract-binding tests: a confirmed cabinet, the sample registry,
binding codes issued the way the supplier's office does it."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.deps import AppContext
from api.errors import refusal_for
from api.services import contracts
from lkk.billing.codes import issue_code
from lkk.billing.errors import BindingFieldsInvalid, BindingRefused, ContractNotBound
from lkk.billing.export_files import read_export
from lkk.billing.importer import import_file, import_records
from lkk.billing.models import BindingRequest, BindingRequestCreate
from lkk.models import Account
from lkk.temporal import onboarding_workflow_id
from lkk.timeutil import utcnow
from lkk.validation import field_messages
from tests.billing.support import CLOSED_LEGAL, FAST_HASHER, OPEN_ENTREPRENEUR, OPEN_LEGAL, SAMPLE_JSON
from tests.conftest import MailSinkProcess
from tests.harness import confirm, confirmation_token, sign_up, unique_login
from workflows.messages import BindStatus

__all__ = [
    "CLOSED_LEGAL",
    "OPEN_ENTREPRENEUR",
    "OPEN_LEGAL",
    "Attempt",
    "Cabinet",
    "bind",
    "confirmed_cabinet",
    "issue",
    "listed",
    "load_registry",
    "unbind",
]


@dataclass(frozen=True)
class Cabinet:
    account: Account
    login: str
    email: str

    @property
    def workflow_id(self) -> str:
        return onboarding_workflow_id(self.account.id)


def load_registry(engine: Engine, *, with_closed_code: bool = False) -> str | None:
    """Import the sample export. With ``with_closed_code`` the closed contract gets a code
    first (issued while it was still open), as happens when billing closes it later."""
    closed_code = None
    if with_closed_code:
        records = read_export(SAMPLE_JSON)
        import_records(engine, [r.model_copy(update={"status": "open"}) for r in records], now=utcnow())
        closed_code = issue(engine, CLOSED_LEGAL[0])
    import_file(engine, SAMPLE_JSON, now=utcnow())
    return closed_code


def issue(engine: Engine, number: str) -> str:
    """A fresh binding code, printed form (``XXXX-XXXX``); argon2 at test cost."""
    return issue_code(engine, number, now=utcnow(), hasher=FAST_HASHER).code


def account_by_login(engine: Engine, login: str) -> Account:
    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.login == login)).first()
    assert account is not None
    return account


async def confirmed_cabinet(ctx: AppContext, mailsink: MailSinkProcess, engine: Engine, prefix: str = "ooo") -> Cabinet:
    """Sign up and confirm through the real service layer (the workflow is then in awaiting_contract)."""
    login = unique_login(prefix)
    email = f"{login}@example.ru"
    await sign_up(ctx, login)
    token = await confirmation_token(mailsink.mailbox, email)
    confirmed = await confirm(ctx, token)
    assert confirmed.outcome.value == "confirmed"
    return Cabinet(account_by_login(engine, login), login, email)


def pending_binding_requests(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(BindingRequest)).all())


@dataclass(frozen=True)
class Attempt:
    """A binding through the API's service as the customer sees it: the outcome, and the
    sentence from ``api/services/contracts.py`` (bound) or ``api/errors.py`` (refused)."""

    status: BindStatus
    message: str
    contract_number: str | None = None
    retry_after_seconds: int | None = None
    field_errors: dict[str, str] = field(default_factory=dict)


async def bind(ctx: AppContext, account: Account, number: str, inn: str, kpp: str | None, code: str) -> Attempt:
    """What the routes do with the four fields: the ``BindingRequestCreate`` model, then
    the service on a session of its own."""
    try:
        form = BindingRequestCreate(contract_number=number, inn=inn, kpp=kpp, code=code)
        with Session(ctx.engine, expire_on_commit=False) as session:
            result = await contracts.bind(ctx, session, account, form)
    except ValidationError as exc:
        refused: BindingRefused = BindingFieldsInvalid(fields=field_messages(exc.errors()))
    except BindingRefused as exc:
        refused = exc
    else:
        bound = result.contract_number or form.contract_number
        return Attempt(result.status, contracts.bound_message(result.status, bound), bound)
    refusal = refusal_for(refused)
    return Attempt(refused.status, refusal.message, refused.contract_number, refused.retry_after_seconds, refusal.fields)


async def listed(ctx: AppContext, account: Account) -> list[contracts.BoundContractPublic]:
    with Session(ctx.engine, expire_on_commit=False) as session:
        return await contracts.list_contracts(ctx, session, account)


async def unbind(ctx: AppContext, account: Account, number: str) -> bool:
    """True when the cabinet held the contract and now does not."""
    try:
        with Session(ctx.engine, expire_on_commit=False) as session:
            await contracts.unbind(ctx, session, account, number)
    except ContractNotBound:
        return False
    return True
