"""Binding codes: generation, hashing and issuing (what the supplier's office does).

A code has ~40 bits of entropy, far too few to resist offline guessing, so only an
argon2id hash is stored; online guessing is throttled by ``lkk.billing.lockout``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import select

from lkk.billing.identifiers import CODE_ALPHABET, CODE_LENGTH, format_binding_code, normalize_contract_number
from lkk.billing.models import AttemptSubject, BindingAttemptCounter, Contract, ContractStatus
from lkk.db import session_scope
from lkk.timeutil import as_utc

DEFAULT_VALID_DAYS = 30
MAX_VALID_DAYS = 365


def default_hasher() -> PasswordHasher:
    """argon2id at the configured password parameters (``LKK_ARGON2_*``)."""
    from lkk.security.passwords import hasher_for
    from lkk.settings import get_settings

    return hasher_for(get_settings())


def generate_code() -> str:
    """A fresh code in canonical form (8 characters, no dash)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class CodeIssueError(Exception):
    """The code cannot be issued; the message is for the office operator."""


@dataclass(frozen=True)
class IssuedCode:
    contract_number: str
    code: str  # printable form, e.g. "KX7M-2QPA"; shown once, never stored
    issued_at: datetime
    expires_at: datetime


def issue_code(
    engine: Engine,
    contract_number: str,
    *,
    now: datetime,
    valid_days: int = DEFAULT_VALID_DAYS,
    hasher: PasswordHasher | None = None,
) -> IssuedCode:
    """Replace the contract's binding code with a new one (the old one stops working).

    The office hands codes out against ID, so issuing also lifts the contract's binding
    lockout: the rightful customer must not stay locked out by someone else's guesses.
    """
    if not 1 <= valid_days <= MAX_VALID_DAYS:
        raise CodeIssueError(f"valid days must be between 1 and {MAX_VALID_DAYS}")
    try:
        number = normalize_contract_number(contract_number)
    except ValueError:
        raise CodeIssueError(f"malformed contract number: {contract_number!r}") from None
    now = as_utc(now)
    code = generate_code()
    code_hash = (hasher or default_hasher()).hash(code)
    with session_scope(engine) as session:
        contract = session.exec(select(Contract).where(Contract.number == number)).first()
        if contract is None:
            raise CodeIssueError(f"contract {number} not found")
        if contract.status == ContractStatus.CLOSED:
            raise CodeIssueError(f"contract {number} is closed")
        contract.binding_code_hash = code_hash
        contract.code_issued_at = now
        contract.code_expires_at = now + timedelta(days=valid_days)
        session.add(contract)
        session.execute(
            delete(BindingAttemptCounter).where(
                BindingAttemptCounter.subject_kind == AttemptSubject.CONTRACT,
                BindingAttemptCounter.subject_key == number,
            )
        )
    return IssuedCode(number, format_binding_code(code), now, now + timedelta(days=valid_days))
