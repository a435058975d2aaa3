"""THE rights rule of company accounts, in one place: who may see or manage a contract.

Access is a ``contract_members`` row; a contract the account has no row for does not
exist for it (``ContractNotBound``, 404: nobody learns that someone else holds it),
and a «Просмотр» member asking for an administrator's action gets ``NoRights`` (403).
"""

from __future__ import annotations

from sqlmodel import Session, select

from lkk.billing.errors import ContractNotBound
from lkk.billing.identifiers import normalize_contract_number
from lkk.billing.models import ContractBinding
from lkk.company.errors import NoRights
from lkk.company.models import ContractMember, Role


def role_of(session: Session, account_id: str, number: str) -> Role | None:
    role = session.exec(
        select(ContractMember.role).where(
            ContractMember.contract_number == number, ContractMember.account_id == account_id
        )
    ).first()
    return Role(role) if role is not None else None


def require(session: Session, account_id: str, number: str, role: Role) -> Role:
    """The account's role on the contract, if it is at least ``role``."""
    try:
        number = normalize_contract_number(number)
    except ValueError:
        raise ContractNotBound() from None
    held = role_of(session, account_id, number)
    if held is None:
        raise ContractNotBound()
    if role is Role.ADMIN and held is not Role.ADMIN:
        raise NoRights()
    return held


def contracts_of(session: Session, account_id: str) -> list[tuple[ContractBinding, Role]]:
    """Every contract the account may see, with its role there; oldest binding first."""
    rows = session.exec(
        select(ContractBinding, ContractMember.role)
        .join(ContractMember, ContractMember.contract_number == ContractBinding.contract_number)  # type: ignore[arg-type]
        .where(ContractMember.account_id == account_id)
        .order_by(ContractBinding.bound_at, ContractBinding.contract_number)  # type: ignore[arg-type]
    ).all()
    return [(binding, Role(role)) for binding, role in rows]


def administered(session: Session, account_id: str) -> list[str]:
    """Numbers of the contracts the account is «Администратор» of; oldest binding first."""
    return [binding.contract_number for binding, role in contracts_of(session, account_id) if role is Role.ADMIN]
