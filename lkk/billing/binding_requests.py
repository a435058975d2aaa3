"""Binding attempts in flight from the API to the worker (table ``binding_requests``).

Why a table: verification runs as a Temporal activity (retried, visible in the
Temporal UI, next to the workflow that waits for it), but the binding code is a secret
and must not enter workflow history. So the API validates the form, parks the attempt
here with the code sealed, and hands the workflow only the row's random id; the
activity opens the row, runs ``bindings.bind`` and deletes the row.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from lkk.billing.bindings import BindOutcome, bind
from lkk.billing.identifiers import BindingInput
from lkk.billing.lockout import DEFAULT_POLICY, LockoutPolicy
from lkk.billing.models import BindingRequest
from lkk.billing.registry import BillingRegistry
from lkk.db import session_scope
from lkk.security.sealing import seal, unseal
from lkk.timeutil import as_utc

SEAL_PURPOSE = "binding-code"


@dataclass(frozen=True)
class PendingRequest:
    id: str  # random, 128 bits; the only thing the workflow sees
    expires_at: datetime


def create(
    engine: Engine, account_id: str, form: BindingInput, *, secret_key: str, now: datetime, ttl_seconds: int
) -> PendingRequest:
    """Park a validated attempt; also sweeps away attempts that were never handled."""
    now = as_utc(now)
    request = BindingRequest(
        id=secrets.token_hex(16),
        account_id=account_id,
        contract_number=form.contract_number,
        inn=form.inn,
        kpp=form.kpp,
        code_sealed=seal(secret_key, SEAL_PURPOSE, form.code),
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )
    with session_scope(engine) as session:
        session.execute(delete(BindingRequest).where(BindingRequest.expires_at <= now))  # type: ignore[arg-type]
        session.add(request)
    return PendingRequest(id=request.id, expires_at=request.expires_at)


def execute(
    engine: Engine,
    request_id: str,
    account_id: str,
    registry: BillingRegistry,
    *,
    secret_key: str,
    now: datetime,
    policy: LockoutPolicy = DEFAULT_POLICY,
) -> BindOutcome | None:
    """Run the parked attempt; None when it is gone, void, or not this cabinet's.

    The row is deleted only after ``bind`` returns, so a retried activity binds again
    and gets ALREADY_BOUND_TO_YOU rather than losing a successful binding.
    """
    now = as_utc(now)
    with Session(engine) as session:
        row = session.exec(
            select(BindingRequest).where(BindingRequest.id == request_id, BindingRequest.account_id == account_id)
        ).first()
    if row is None or as_utc(row.expires_at) <= now:
        discard(engine, request_id)
        return None
    code = unseal(secret_key, SEAL_PURPOSE, row.code_sealed)
    if code is None:  # sealed under another LKK_SECRET_KEY: treat as gone
        discard(engine, request_id)
        return None
    outcome = bind(engine, account_id, row.contract_number, registry, row.inn, row.kpp, code, now, policy=policy)
    discard(engine, request_id)
    return outcome


def discard(engine: Engine, request_id: str) -> None:
    with session_scope(engine) as session:
        session.execute(delete(BindingRequest).where(BindingRequest.id == request_id))  # type: ignore[arg-type]
