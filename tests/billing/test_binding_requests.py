"""Parked binding attempts (``binding_requests``): the code is sealed, the row is single
use, void after its TTL and only runs for the cabinet that submitted it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from lkk.billing import binding_requests
from lkk.billing.models import BindingRequest, BindingRequestCreate
from lkk.billing.registry import SqlBillingRegistry
from lkk.security.sealing import seal, unseal
from workflows.messages import BindStatus

from .support import NOW, OPEN_LEGAL

KEY = "test-secret-key-of-enough-length-0123456789"


def _form(code: str) -> BindingRequestCreate:
    number, inn, kpp = OPEN_LEGAL
    return BindingRequestCreate(contract_number=number, inn=inn, kpp=kpp, code=code)


def _park(engine: Engine, account: str, code: str, *, ttl: int = 60, key: str = KEY, now: datetime = NOW) -> str:
    with Session(engine) as session:
        pending = binding_requests.create(session, account, _form(code), secret_key=key, now=now, ttl_seconds=ttl)
        session.commit()
    return pending.id


def _execute(engine: Engine, request_id: str, account: str, registry: SqlBillingRegistry, **kw: Any) -> Any:
    with Session(engine) as session:
        return binding_requests.execute(session, request_id, account, registry, **{"secret_key": KEY, "now": NOW, **kw})


def _rows(engine: Engine) -> list[BindingRequest]:
    with Session(engine) as session:
        return list(session.exec(select(BindingRequest)).all())


def test_code_is_sealed_and_the_row_is_single_use(
    sample: Engine, registry: SqlBillingRegistry, issue: Callable[..., Any], new_account: Callable[[], str]
) -> None:
    code = issue(OPEN_LEGAL[0]).code
    me = new_account()
    request_id = _park(sample, me, code)
    (row,) = _rows(sample)
    assert code.replace("-", "") not in row.code_sealed and code not in row.code_sealed
    assert len(request_id) == 32 and row.id == request_id

    outcome = _execute(sample, request_id, me, registry)
    assert outcome is not None and outcome.status is BindStatus.BOUND
    assert _rows(sample) == []
    assert _execute(sample, request_id, me, registry) is None


def test_only_the_submitting_cabinet_within_the_ttl_and_key(
    sample: Engine, registry: SqlBillingRegistry, issue: Callable[..., Any], new_account: Callable[[], str]
) -> None:
    code = issue(OPEN_LEGAL[0]).code
    me, other = new_account(), new_account()
    theirs = _park(sample, me, code)
    assert _execute(sample, theirs, other, registry) is None

    late = _park(sample, me, code, ttl=60)
    assert _execute(sample, late, me, registry, now=NOW + timedelta(seconds=61)) is None

    rekeyed = _park(sample, me, code, key="another-key-" + "x" * 40)
    assert _execute(sample, rekeyed, me, registry) is None
    assert _rows(sample) == []  # every void attempt was removed too


def test_creating_sweeps_attempts_nobody_handled(sample: Engine, new_account: Callable[[], str]) -> None:
    me = new_account()
    _park(sample, me, "ABCD-EFGH")
    _park(sample, me, "ABCD-EFGH", now=NOW + timedelta(minutes=5))
    assert len(_rows(sample)) == 1


def test_sealing_rejects_tampering_and_other_keys_or_purposes() -> None:
    sealed = seal(KEY, "binding-code", "KX7M2QPA")
    assert unseal(KEY, "binding-code", sealed) == "KX7M2QPA"
    assert unseal(KEY, "other-purpose", sealed) is None
    assert unseal("x" * 44, "binding-code", sealed) is None
    assert unseal(KEY, "binding-code", sealed[:-4] + "AAAA") is None
    assert unseal(KEY, "binding-code", "not a token") is None
