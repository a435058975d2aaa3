"""Activities of contract binding: verify and bind a parked attempt, unbind, look up
the first bound contract, and send the one reminder e-mail.

Verification (argon2 inside the registry) is CPU-bound and the stores are synchronous,
so these are sync activities on the worker's thread pool. Each activity is one unit of
work on one ``Session`` of its own.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity

from activities.mail_handover import hand_over
from lkk import metrics
from lkk.billing import binding_requests, bindings
from lkk.billing.lockout import LockoutPolicy
from lkk.billing.registry import BillingRegistry
from lkk.company import access
from lkk.db import transaction
from lkk.mail.message_id import mail_key
from lkk.mail.render import branding, render_mail
from lkk.mail.sender import SmtpSender
from lkk.models import Account, AccountStatus
from lkk.settings import Settings
from lkk.timeutil import as_utc, utcnow
from workflows.errors import BindingRequestGone
from workflows.messages import (
    AccountRef,
    BindContractRequest,
    BindContractResult,
    BindingReminderResult,
    BindStatus,
    BoundContractInfo,
    UnbindContractRequest,
    UnbindContractResult,
)

log = logging.getLogger(__name__)

BIND_FORM_PATH = "/profile#contract-bind"


def lockout_policy(settings: Settings) -> LockoutPolicy:
    return LockoutPolicy(
        threshold=settings.billing_lockout_threshold,
        base_seconds=settings.billing_lockout_base_seconds,
        max_seconds=settings.billing_lockout_max_seconds,
        forget_seconds=settings.billing_lockout_forget_seconds,
    )


class ContractActivities:
    def __init__(self, engine: Engine, settings: Settings, sender: SmtpSender, registry: BillingRegistry) -> None:
        self._engine = engine
        self._settings = settings
        self._sender = sender
        self._registry = registry
        self._policy = lockout_policy(settings)

    @activity.defn(name="bind_contract")
    def bind_contract(self, params: BindContractRequest) -> BindContractResult:
        with Session(self._engine) as session:
            outcome = binding_requests.execute(
                session,
                params.request_id,
                params.account_id,
                self._registry,
                secret_key=self._settings.secret_key,
                now=utcnow(),
                policy=self._policy,
            )
        if outcome is None:
            # Void (older than its TTL), already handled, or not this cabinet's: the
            # customer simply submits the form again. Retrying cannot help.
            raise BindingRequestGone()
        log.info("binding attempt for account %s: %s", params.account_id, outcome.status.value)
        if outcome.status is BindStatus.BOUND:
            metrics.CONTRACT_BINDINGS.inc()
        return BindContractResult.model_validate(outcome.model_dump())

    @activity.defn(name="unbind_contract")
    def unbind_contract(self, params: UnbindContractRequest) -> UnbindContractResult:
        with Session(self._engine) as session, transaction(session):
            outcome = bindings.unbind(session, params.account_id, params.contract_number, utcnow())
        log.info(
            "unbinding for account %s: %s, %d invitation(s) withdrawn",
            params.account_id,
            "done" if outcome.unbound else "not held as administrator",
            len(outcome.withdrawn),
        )
        return UnbindContractResult(
            unbound=outcome.unbound,
            contract_number=params.contract_number,
            withdrawn_invitations=outcome.withdrawn,
        )

    @activity.defn(name="find_bound_contract")
    def find_bound_contract(self, params: AccountRef) -> BoundContractInfo:
        with Session(self._engine) as session:
            return _first_bound(session, params.account_id)

    @activity.defn(name="send_binding_reminder")
    def send_binding_reminder(self, params: AccountRef) -> BindingReminderResult:
        # The database is the arbiter: a binding the workflow has not heard of (a lost
        # update) means the customer needs no reminder, and onboarding is complete.
        with Session(self._engine) as session:
            bound = _first_bound(session, params.account_id)
            account = session.get(Account, params.account_id) if bound.contract_number is None else None
        if bound.contract_number is not None:
            return BindingReminderResult(sent=False, already_bound=bound)
        if account is None or account.status != AccountStatus.ACTIVE:
            return BindingReminderResult(sent=False)
        mail = render_mail(
            "binding_reminder",
            to=account.email,
            subject="Привяжите договор в Личном кабинете клиента",
            login=account.login,
            # Built from the configured public URL, never from a request's Host.
            link=f"{self._settings.public_base_url_clean}{BIND_FORM_PATH}",
            **branding(self._settings),
        )
        # One reminder per onboarding run.
        key = mail_key(activity.info().workflow_id, "binding_reminder", 0)
        hand_over(self._sender, mail, key=key, what="binding reminder")
        log.info("binding reminder sent for account %s", params.account_id)
        return BindingReminderResult(sent=True)

    def all(self) -> list[object]:
        return [self.bind_contract, self.unbind_contract, self.find_bound_contract, self.send_binding_reminder]


def _first_bound(session: Session, account_id: str) -> BoundContractInfo:
    """The first contract the account has access to (bound itself, or shared with it)."""
    bound = access.contracts_of(session, account_id)
    if not bound:
        return BoundContractInfo()
    binding, _ = bound[0]
    return BoundContractInfo(contract_number=binding.contract_number, bound_at=as_utc(binding.bound_at))
