"""Parked binding attempts (``binding_requests``): the code is sealed, the row is single
use, void after its TTL and only runs for the cabinet that submitted it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from lkk.billing import binding_requests
from lkk.billing.identifiers import parse_binding_input
from lkk.billing.models import BindingRequest
from lkk.billing.registry import SqlBillingRegistry
from lkk.security.sealing import seal, unseal
from workflows.messages import BindStatus

from .support import NOW, OPEN_LEGAL

KEY = "test-secret-key-of-enough-length-0123456789"


def _park(engine: Engine, account: str, code: str, *, ttl: int = 60, key: str = KEY) -> str:
    form = parse_binding_input(*OPEN_LEGAL, code)
    return binding_requests.create(engine, account, form, secret_key=key, now=NOW, ttl_seconds=ttl).id


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

    outcome = binding_requests.execute(sample, request_id, me, registry, secret_key=KEY, now=NOW)
    assert outcome is not None and outcome.status is BindStatus.BOUND
    assert _rows(sample) == []
    assert binding_requests.execute(sample, request_id, me, registry, secret_key=KEY, now=NOW) is None


def test_only_the_submitting_cabinet_within_the_ttl_and_key(
    sample: Engine, registry: SqlBillingRegistry, issue: Callable[..., Any], new_account: Callable[[], str]
) -> None:
    code = issue(OPEN_LEGAL[0]).code
    me, other = new_account(), new_account()
    theirs = _park(sample, me, code)
    assert binding_requests.execute(sample, theirs, other, registry, secret_key=KEY, now=NOW) is None

    late = _park(sample, me, code, ttl=60)
    assert binding_requests.execute(sample, late, me, registry, secret_key=KEY, now=NOW + timedelta(seconds=61)) is None

    rekeyed = _park(sample, me, code, key="another-key-" + "x" * 40)
    assert binding_requests.execute(sample, rekeyed, me, registry, secret_key=KEY, now=NOW) is None
    assert _rows(sample) == []  # every void attempt was removed too


def test_creating_sweeps_attempts_nobody_handled(sample: Engine, new_account: Callable[[], str]) -> None:
    me = new_account()
    form = parse_binding_input(*OPEN_LEGAL, "ABCD-EFGH")
    binding_requests.create(sample, me, form, secret_key=KEY, now=NOW, ttl_seconds=60)
    binding_requests.create(sample, me, form, secret_key=KEY, now=NOW + timedelta(minutes=5), ttl_seconds=60)
    assert len(_rows(sample)) == 1


def test_sealing_rejects_tampering_and_other_keys_or_purposes() -> None:
    sealed = seal(KEY, "binding-code", "KX7M2QPA")
    assert unseal(KEY, "binding-code", sealed) == "KX7M2QPA"
    assert unseal(KEY, "other-purpose", sealed) is None
    assert unseal("x" * 44, "binding-code", sealed) is None
    assert unseal(KEY, "binding-code", sealed[:-4] + "AAAA") is None
    assert unseal(KEY, "binding-code", "not a token") is None
