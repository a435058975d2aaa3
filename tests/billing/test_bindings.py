from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.errors import refusal_for
from api.services.contracts import bound_message
from lkk.billing import bindings
from lkk.billing.bindings import BindOutcome
from lkk.billing.errors import refusal_of
from lkk.billing.export_files import read_export
from lkk.billing.importer import import_records
from lkk.billing.lockout import DEFAULT_POLICY, LockoutPolicy, Subject, locked_for
from lkk.billing.models import AttemptSubject, BindingEvent, BindingRequestCreate
from lkk.billing.registry import SqlBillingRegistry
from lkk.db import make_engine
from lkk.timeutil import as_utc
from workflows.messages import BindStatus

from .support import CLOSED_LEGAL, FAST_HASHER, NOW, OPEN_ENTREPRENEUR, OPEN_LEGAL, SAMPLE_JSON

S = BindStatus
WRONG_MESSAGE = "Данные договора не найдены. Проверьте номер договора, ИНН, КПП и код подтверждения."


@pytest.fixture
def code(sample: Engine, issue: Callable[..., Any]) -> str:
    return issue(OPEN_LEGAL[0]).code


def attempt(
    engine: Engine,
    registry: SqlBillingRegistry,
    account: str,
    fields: tuple[str, str, str | None],
    code: str,
    now: datetime = NOW,
    *,
    policy: LockoutPolicy = DEFAULT_POLICY,
) -> BindOutcome:
    """One attempt as the worker's activity runs it: the validated form, a session of its own."""
    number, inn, kpp = fields
    form = BindingRequestCreate(contract_number=number, inn=inn, kpp=kpp, code=code)
    with Session(engine) as session:
        return bindings.bind(session, account, form, registry, now, policy=policy)


def said(outcome: BindOutcome) -> str:
    """The sentence the customer reads about the outcome (api/services/contracts.py, api/errors.py)."""
    refused = refusal_of(outcome)
    if refused is None:
        return bound_message(outcome.status, outcome.contract_number or "")
    return refusal_for(refused).message


def list_bound(engine: Engine, account: str) -> list[tuple[str, datetime]]:
    with Session(engine) as session:
        return [(b.contract_number, b.bound_at) for b, _ in bindings.list_bound(session, account)]


def held(engine: Engine, account: str) -> list[str]:
    return [number for number, _ in list_bound(engine, account)]


def unbind(engine: Engine, account: str, number: str, now: datetime) -> bool:
    with Session(engine) as session:
        released = bindings.unbind(session, account, number, now)
        session.commit()
    return released.unbound


def events(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as s:
        rows = s.exec(select(BindingEvent).order_by(BindingEvent.id)).all()  # type: ignore[arg-type]
    return [(e.kind, e.contract_number, e.account_id) for e in rows]


def test_bind_list_and_already_yours(sample: Engine, registry: SqlBillingRegistry, code: str, new_account: Any) -> None:
    me = new_account()
    outcome = attempt(sample, registry, me, OPEN_LEGAL, code)
    assert outcome.status == S.BOUND and outcome.succeeded
    assert said(outcome) == "Договор № 7701-000101 привязан к вашему личному кабинету."
    assert held(sample, me) == ["7701-000101"]
    assert as_utc(list_bound(sample, me)[0][1]) == NOW
    again = attempt(sample, registry, me, OPEN_LEGAL, code)
    assert again.status == S.ALREADY_BOUND_TO_YOU
    assert said(again) == "Договор № 7701-000101 уже привязан к вашему личному кабинету."
    assert events(sample) == [("bound", "7701-000101", me)]


def test_one_cabinet_holds_several_contracts(
    sample: Engine, registry: SqlBillingRegistry, code: str, issue: Callable[..., Any], new_account: Any
) -> None:
    me = new_account()
    other_code = issue(OPEN_ENTREPRENEUR[0]).code
    assert attempt(sample, registry, me, OPEN_LEGAL, code).status == S.BOUND
    assert attempt(sample, registry, me, OPEN_ENTREPRENEUR, other_code, NOW + timedelta(1)).status == S.BOUND
    assert held(sample, me) == ["7701-000101", "7701-000103"]
    details = registry.contract_details(held(sample, me))
    assert [d.customer_name for d in details] == ['ООО "Пример-Энерго"', "ИП Примеров Пётр Петрович"]


def test_bound_to_another_only_with_the_right_code(
    sample: Engine, registry: SqlBillingRegistry, code: str, new_account: Any
) -> None:
    owner, intruder = new_account(), new_account()
    assert attempt(sample, registry, owner, OPEN_LEGAL, code).status == S.BOUND
    guess = attempt(sample, registry, intruder, OPEN_LEGAL, "ABCD-EFGH")
    assert guess.status == S.WRONG_DATA  # without the code nothing about the binding leaks
    taken = attempt(sample, registry, intruder, OPEN_LEGAL, code)
    assert taken.status == S.BOUND_TO_ANOTHER
    assert said(taken) == "Этот договор уже привязан к другому личному кабинету. Обратитесь в офис поставщика."
    assert held(sample, intruder) == []


@pytest.mark.parametrize(
    "fields",
    [
        ("7701-999999", OPEN_LEGAL[1], OPEN_LEGAL[2]),  # unknown number
        ("7701-000102", OPEN_LEGAL[1], OPEN_LEGAL[2]),  # another existing contract
        (OPEN_LEGAL[0], "0001592649", OPEN_LEGAL[2]),  # wrong ИНН
        (OPEN_LEGAL[0], OPEN_LEGAL[1], "000101002"),  # wrong КПП
        (OPEN_LEGAL[0], OPEN_ENTREPRENEUR[1], None),  # an entrepreneur's ИНН
    ],
)
def test_wrong_data_is_generic_for_every_field(
    sample: Engine, registry: SqlBillingRegistry, code: str, new_account: Any, fields: tuple[str, str, str | None]
) -> None:
    outcome = attempt(sample, registry, new_account(), fields, code)
    assert outcome.status == S.WRONG_DATA
    assert said(outcome) == WRONG_MESSAGE


def test_wrong_code_is_the_same_wrong_data(
    sample: Engine, registry: SqlBillingRegistry, code: str, new_account: Any
) -> None:
    outcome = attempt(sample, registry, new_account(), OPEN_LEGAL, "ABCD-EFGH")
    assert (outcome.status, said(outcome)) == (S.WRONG_DATA, WRONG_MESSAGE)


def test_expired_code(sample: Engine, registry: SqlBillingRegistry, code: str, new_account: Any) -> None:
    outcome = attempt(sample, registry, new_account(), OPEN_LEGAL, code, NOW + timedelta(days=31))
    assert outcome.status == S.WRONG_DATA


def test_closed_contract(
    engine: Engine, registry: SqlBillingRegistry, issue: Callable[..., Any], new_account: Any
) -> None:
    records = read_export(SAMPLE_JSON)
    import_records(engine, [r.model_copy(update={"status": "open"}) for r in records], now=NOW)
    closed_code = issue(CLOSED_LEGAL[0]).code
    import_records(engine, records, now=NOW)
    me = new_account()
    assert attempt(engine, registry, me, CLOSED_LEGAL, "ABCD-EFGH").status == S.WRONG_DATA
    outcome = attempt(engine, registry, me, CLOSED_LEGAL, closed_code)
    assert (outcome.status, said(outcome)) == (S.CLOSED, "Договор закрыт. Привязка невозможна.")
    assert held(engine, me) == []


def test_malformed_input_never_reaches_the_rule_so_is_not_counted(
    sample: Engine, registry: SqlBillingRegistry, code: str, new_account: Any
) -> None:
    me = new_account()
    for _ in range(10):
        with pytest.raises(ValidationError) as refused:
            attempt(sample, registry, me, ("77", "123", None), "??")
        assert {e["loc"][0] for e in refused.value.errors()} == {"contract_number", "inn", "code"}
    assert attempt(sample, registry, me, OPEN_LEGAL, code).status == S.BOUND


def test_unbind_frees_the_contract_and_is_recorded(
    sample: Engine, registry: SqlBillingRegistry, code: str, new_account: Any
) -> None:
    first, second = new_account(), new_account()
    assert attempt(sample, registry, first, OPEN_LEGAL, code).status == S.BOUND
    assert unbind(sample, second, OPEN_LEGAL[0], NOW) is False  # not theirs
    assert unbind(sample, first, " 7701-000101 ", NOW + timedelta(hours=1)) is True
    assert unbind(sample, first, OPEN_LEGAL[0], NOW + timedelta(hours=1)) is False  # already gone
    assert held(sample, first) == []
    assert attempt(sample, registry, second, OPEN_LEGAL, code, NOW + timedelta(hours=2)).status == S.BOUND
    assert events(sample) == [
        ("bound", "7701-000101", first),
        ("unbound", "7701-000101", first),
        ("bound", "7701-000101", second),
    ]


# --- lockouts ----------------------------------------------------------------------------


def fail(
    engine: Engine, registry: SqlBillingRegistry, account: str, now: datetime, number: str = OPEN_LEGAL[0]
) -> BindOutcome:
    """One wrong guess (the code is never right)."""
    return attempt(engine, registry, account, (number, *OPEN_LEGAL[1:]), "ABCD-EFGH", now)


def test_contract_lockout_grows_and_survives_a_restart(
    sample: Engine, db_url: str, code: str, new_account: Any
) -> None:
    registry = SqlBillingRegistry(sample, hasher=FAST_HASHER)
    owner = new_account()
    for _ in range(4):  # four strangers, one guess each: the contract counter is shared
        assert fail(sample, registry, new_account(), NOW).status == S.WRONG_DATA
    assert fail(sample, registry, new_account(), NOW).status == S.WRONG_DATA  # 5th failure locks for 1 min
    locked = attempt(sample, registry, owner, OPEN_LEGAL, code)  # even the right code waits
    assert (locked.status, locked.retry_after_seconds) == (S.LOCKED, 60)
    assert said(locked) == "Слишком много неудачных попыток привязки. Повторите попытку через 1 минуту."

    # A "restart": a brand-new engine and registry on the same database.
    restarted = make_engine(db_url)
    registry2 = SqlBillingRegistry(restarted, hasher=FAST_HASHER)
    later = NOW + timedelta(seconds=30)
    assert attempt(restarted, registry2, owner, OPEN_LEGAL, code, later).retry_after_seconds == 30
    t = NOW + timedelta(seconds=60)
    assert fail(restarted, registry2, new_account(), t).status == S.WRONG_DATA  # 6th: 2 min
    assert attempt(restarted, registry2, owner, OPEN_LEGAL, code, t).retry_after_seconds == 120
    t += timedelta(seconds=120)
    assert fail(restarted, registry2, new_account(), t).status == S.WRONG_DATA  # 7th: 4 min
    outcome = attempt(restarted, registry2, owner, OPEN_LEGAL, code, t)
    assert (outcome.status, outcome.retry_after_seconds) == (S.LOCKED, 240)
    # success resets the counter: the next slip does not lock again
    t += timedelta(seconds=240)
    assert attempt(restarted, registry2, owner, OPEN_LEGAL, code, t).status == S.BOUND
    assert unbind(restarted, owner, OPEN_LEGAL[0], t)
    assert fail(restarted, registry2, new_account(), t).status == S.WRONG_DATA
    assert attempt(restarted, registry2, owner, OPEN_LEGAL, code, t).status == S.BOUND
    restarted.dispose()


def test_contract_lockout_caps_and_other_contracts_are_unaffected(
    sample: Engine, registry: SqlBillingRegistry, issue: Callable[..., Any], new_account: Any
) -> None:
    policy = LockoutPolicy(threshold=2, base_seconds=60, max_seconds=300)
    subject = [Subject(AttemptSubject.CONTRACT, OPEN_LEGAL[0])]
    t = NOW
    waits = []
    for _ in range(6):
        guess = attempt(sample, registry, new_account(), OPEN_LEGAL, "ABCD-EFGH", t, policy=policy)
        assert guess.status == S.WRONG_DATA
        with Session(sample) as session:
            waits.append(locked_for(session, subject, t))
        t += timedelta(seconds=waits[-1] or 0)
    assert waits == [None, 60, 120, 240, 300, 300]
    other_code = issue(OPEN_ENTREPRENEUR[0]).code
    assert attempt(sample, registry, new_account(), OPEN_ENTREPRENEUR, other_code, t).status == S.BOUND


def test_account_lockout_across_contract_numbers(
    sample: Engine, registry: SqlBillingRegistry, code: str, new_account: Any
) -> None:
    sprayer, bystander = new_account(), new_account()
    for i in range(5):  # five different (unknown) numbers: only the cabinet counter reaches 5
        assert fail(sample, registry, sprayer, NOW, number=f"7701-99000{i}").status == S.WRONG_DATA
    locked = attempt(sample, registry, sprayer, OPEN_LEGAL, code)
    assert (locked.status, locked.retry_after_seconds) == (S.LOCKED, 60)
    # the lock is the cabinet's, not the contract's
    assert attempt(sample, registry, bystander, OPEN_LEGAL, code).status == S.BOUND
    # no counting while locked: hammering does not extend the lock
    for _ in range(5):
        assert fail(sample, registry, sprayer, NOW + timedelta(seconds=59), number="7701-990009").status == S.LOCKED
    t = NOW + timedelta(seconds=60)
    assert fail(sample, registry, sprayer, t, number="7701-990009").status == S.WRONG_DATA
    assert fail(sample, registry, sprayer, t, number="7701-990009").retry_after_seconds == 120


def test_failures_are_forgotten_after_a_quiet_day(
    sample: Engine, registry: SqlBillingRegistry, new_account: Any
) -> None:
    me = new_account()
    for _ in range(4):
        fail(sample, registry, me, NOW)
    day_later = NOW + timedelta(days=1, seconds=1)
    assert fail(sample, registry, me, day_later).status == S.WRONG_DATA  # counts as the 1st again
    assert fail(sample, registry, me, day_later).status == S.WRONG_DATA  # 2nd
    assert fail(sample, registry, me, day_later).status == S.WRONG_DATA  # 3rd


def test_parallel_guesses_cannot_exceed_the_threshold(
    sample: Engine, registry: SqlBillingRegistry, new_account: Any
) -> None:
    """Attempts are counted before verification, so a burst gets at most 5 guesses."""
    accounts = [new_account() for _ in range(12)]
    barrier = threading.Barrier(len(accounts))
    results: list[BindOutcome] = []

    def run(account: str) -> None:
        barrier.wait()
        results.append(fail(sample, registry, account, NOW))

    threads = [threading.Thread(target=run, args=(a,)) for a in accounts]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    statuses = [r.status for r in results]
    assert statuses.count(S.WRONG_DATA) == 5 and statuses.count(S.LOCKED) == 7


# --- races -------------------------------------------------------------------------------


def race(
    engine: Engine, registry: SqlBillingRegistry, accounts: list[str], code: str, now: datetime
) -> list[BindOutcome]:
    """Every account binds the same contract, released at the same instant by a barrier."""
    barrier = threading.Barrier(len(accounts))
    results: list[BindOutcome] = []
    errors: list[BaseException] = []

    def run(account: str) -> None:
        try:
            barrier.wait()
            results.append(attempt(engine, registry, account, OPEN_LEGAL, code, now))
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(a,)) for a in accounts]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    return results


@pytest.mark.parametrize("round_", range(6))
def test_race_two_cabinets_exactly_one_wins(
    sample: Engine, registry: SqlBillingRegistry, code: str, new_account: Any, round_: int
) -> None:
    for i in range(3):
        a, b = new_account(), new_account()
        outcomes = race(sample, registry, [a, b], code, NOW + timedelta(minutes=i))
        assert sorted(o.status for o in outcomes) == sorted([S.BOUND, S.BOUND_TO_ANOTHER])
        winner = a if held(sample, a) else b
        assert len(held(sample, winner)) == 1 and held(sample, a if winner == b else b) == []
        assert unbind(sample, winner, OPEN_LEGAL[0], NOW + timedelta(minutes=i))


def test_race_many_cabinets_and_a_double_click(
    sample: Engine, registry: SqlBillingRegistry, code: str, new_account: Any
) -> None:
    accounts = [new_account() for _ in range(4)]
    outcomes = race(sample, registry, accounts, code, NOW)
    assert [o.status for o in outcomes].count(S.BOUND) == 1
    assert [o.status for o in outcomes].count(S.BOUND_TO_ANOTHER) == 3
    winner = next(a for a in accounts if held(sample, a))
    assert unbind(sample, winner, OPEN_LEGAL[0], NOW)
    me = new_account()
    outcomes = race(sample, registry, [me, me], code, NOW)
    assert sorted(o.status for o in outcomes) == sorted([S.BOUND, S.ALREADY_BOUND_TO_YOU])
    assert len([e for e in events(sample) if e[0] == "bound"]) == 2


