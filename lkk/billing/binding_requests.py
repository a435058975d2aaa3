"""Binding attempts in flight from the API to the worker (table ``binding_requests``).

Why a table: verification runs as a Temporal activity (retried, visible in the
Temporal UI, next to the workflow that waits for it), but the binding code is a secret
and must not enter workflow history. So the API validates the form, parks the attempt
here with the code sealed, and hands the workflow only the row's random id; the
activity opens the row, runs ``bindings.bind`` and deletes the row. The functions work
in the caller's session and leave the commit to it, but ``execute`` (see ``lkk.billing``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, select

from lkk.billing.bindings import BindOutcome, bind
from lkk.billing.lockout import DEFAULT_POLICY, LockoutPolicy
from lkk.billing.models import BindingRequest, BindingRequestBase, BindingRequestCreate
from lkk.billing.registry import BillingRegistry
from lkk.security.sealing import seal, unseal
from lkk.timeutil import as_utc

SEAL_PURPOSE = "binding-code"


@dataclass(frozen=True)
class PendingRequest:
    id: str  # random, 128 bits; the only thing the workflow sees
    expires_at: datetime


def create(
    session: Session,
    account_id: str,
    form: BindingRequestCreate,
    *,
    secret_key: str,
    now: datetime,
    ttl_seconds: int,
) -> PendingRequest:
    """Park a validated attempt (the caller commits); also sweeps away attempts that
    were never handled."""
    now = as_utc(now)
    request = BindingRequest(
        **form.model_dump(include=set(BindingRequestBase.model_fields)),
        id=secrets.token_hex(16),
        account_id=account_id,
        code_sealed=seal(secret_key, SEAL_PURPOSE, form.code),
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )
    session.execute(delete(BindingRequest).where(BindingRequest.expires_at <= now))  # type: ignore[arg-type]
    session.add(request)
    return PendingRequest(id=request.id, expires_at=request.expires_at)


def execute(
    session: Session,
    request_id: str,
    account_id: str,
    registry: BillingRegistry,
    *,
    secret_key: str,
    now: datetime,
    policy: LockoutPolicy = DEFAULT_POLICY,
) -> BindOutcome | None:
    """Run the parked attempt; None when it is gone, void, or not this cabinet's.
    Commits (``bind`` does at its own points; the row's deletion last).

    The row is deleted only after ``bind`` returns, so a retried activity binds again
    and gets ALREADY_BOUND_TO_YOU rather than losing a successful binding.
    """
    now = as_utc(now)
    row = session.exec(
        select(BindingRequest).where(BindingRequest.id == request_id, BindingRequest.account_id == account_id)
    ).first()
    code = unseal(secret_key, SEAL_PURPOSE, row.code_sealed) if row and as_utc(row.expires_at) > now else None
    outcome = None
    if row is not None and code is not None:  # else void, or sealed under another LKK_SECRET_KEY: gone
        form = BindingRequestCreate(**row.model_dump(include=set(BindingRequestBase.model_fields)), code=code)
        outcome = bind(session, account_id, form, registry, now, policy=policy)
    discard(session, request_id)
    session.commit()
    return outcome


def discard(session: Session, request_id: str) -> None:
    """Forget the attempt (the caller commits)."""
    session.execute(delete(BindingRequest).where(BindingRequest.id == request_id))  # type: ignore[arg-type]
