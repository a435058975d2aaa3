from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from lkk.billing.codes import CodeIssueError, issue_code
from lkk.billing.importer import import_records
from lkk.billing.export_files import read_export
from lkk.billing.models import Contract, ContractPublic
from lkk.billing.registry import BillingRegistry, SqlBillingRegistry, VerificationStatus
from .support import CLOSED_LEGAL, NOW, OPEN_ENTREPRENEUR, OPEN_LEGAL, SAMPLE_JSON

OK, WRONG, CLOSED = VerificationStatus.OK, VerificationStatus.WRONG_DATA, VerificationStatus.CLOSED


def test_sql_registry_satisfies_the_protocol(sample: Engine, registry: SqlBillingRegistry) -> None:
    assert isinstance(registry, BillingRegistry)


def test_issued_code_verifies_and_reissue_kills_the_old_one(
    sample: Engine, registry: SqlBillingRegistry, issue: Callable[..., Any]
) -> None:
    first = issue(OPEN_LEGAL[0])
    assert registry.verify_binding(*OPEN_LEGAL, first.code, NOW).status == OK
    assert registry.verify_binding(*OPEN_LEGAL, first.code.lower().replace("-", " "), NOW).status == OK
    second = issue(OPEN_LEGAL[0], now=NOW + timedelta(hours=1))
    assert second.code != first.code
    assert registry.verify_binding(*OPEN_LEGAL, first.code, NOW + timedelta(hours=1)).status == WRONG
    assert registry.verify_binding(*OPEN_LEGAL, second.code, NOW + timedelta(hours=1)).status == OK


def test_only_a_hash_is_stored(sample: Engine, issue: Callable[..., Any]) -> None:
    issued = issue(OPEN_LEGAL[0])
    with Session(sample) as s:
        row = s.exec(select(Contract).where(Contract.number == OPEN_LEGAL[0])).one()
    assert row.binding_code_hash is not None and row.binding_code_hash.startswith("$argon2id$")
    assert issued.code.replace("-", "") not in row.binding_code_hash
    assert issued.expires_at - issued.issued_at == timedelta(days=30)


def test_expired_code_is_wrong_data(sample: Engine, registry: SqlBillingRegistry, issue: Callable[..., Any]) -> None:
    issued = issue(OPEN_LEGAL[0], valid_days=1)
    assert registry.verify_binding(*OPEN_LEGAL, issued.code, NOW + timedelta(hours=23)).status == OK
    assert registry.verify_binding(*OPEN_LEGAL, issued.code, NOW + timedelta(days=1)).status == WRONG


def test_entrepreneur_without_kpp(sample: Engine, registry: SqlBillingRegistry, issue: Callable[..., Any]) -> None:
    code = issue(OPEN_ENTREPRENEUR[0]).code
    assert registry.verify_binding(*OPEN_ENTREPRENEUR, code, NOW).status == OK
    # a malformed КПП must not count as "no КПП"
    assert registry.verify_binding(OPEN_ENTREPRENEUR[0], OPEN_ENTREPRENEUR[1], "garbage", code, NOW).status == WRONG


def test_wrong_fields_and_unknown_contracts_are_all_wrong_data(
    sample: Engine, registry: SqlBillingRegistry, issue: Callable[..., Any]
) -> None:
    code = issue(OPEN_LEGAL[0]).code
    number, inn, kpp = OPEN_LEGAL
    for args in [
        ("7701-999999", inn, kpp, code),
        (number, "0001592649", kpp, code),
        (number, inn, "000101002", code),
        (number, inn, kpp, "ABCD-EFGH"),
        ("7701-000102", "0001592649", "000150001", code),  # no code issued for it
    ]:
        assert registry.verify_binding(*args, NOW).status == WRONG, args


def test_closed_only_with_a_proven_code(
    engine: Engine, registry: SqlBillingRegistry, issue: Callable[..., Any]
) -> None:
    records = read_export(SAMPLE_JSON)
    opened = [r.model_copy(update={"status": "open"}) if r.number == CLOSED_LEGAL[0] else r for r in records]
    import_records(engine, opened, now=NOW)
    code = issue(CLOSED_LEGAL[0]).code
    import_records(engine, records, now=NOW)  # billing closes the contract afterwards
    assert registry.verify_binding(*CLOSED_LEGAL, code, NOW).status == CLOSED
    assert registry.verify_binding(*CLOSED_LEGAL, "ABCD-EFGH", NOW).status == WRONG


def test_issue_code_refuses_unknown_closed_and_bad_input(sample: Engine) -> None:
    hasher = PasswordHasher(time_cost=1, memory_cost=1024)
    for number, days in [("7701-999999", 30), (CLOSED_LEGAL[0], 30), ("7 7", 30), (OPEN_LEGAL[0], 0)]:
        with pytest.raises(CodeIssueError):
            issue_code(sample, number, now=NOW, valid_days=days, hasher=hasher)


def test_contract_details_are_plain_models_in_request_order(sample: Engine, registry: SqlBillingRegistry) -> None:
    views = registry.contract_details(["7701-000104", "nonsense !", "7701-999999", " 7701-000101", "7701-000104"])
    assert [v.number for v in views] == ["7701-000104", "7701-000101"]
    # The family's public shape, never a row of a table (nothing bound to a session leaks out).
    assert all(isinstance(v, ContractPublic) and not hasattr(type(v), "__table__") for v in views)
    water = views[0]
    assert [len(p.meters) for p in water.metering_points] == [1, 2, 0]
    assert views[1].model_dump(mode="json")["metering_points"][0]["meters"][0] == {
        "serial_number": "00112201",
        "model": "СЭТ-4ТМ.03М.01",
        "next_verification_date": "2031-06-30",
    }
    assert registry.contract_details([]) == []


def test_unknown_contract_costs_as_much_time_as_a_known_one(sample: Engine) -> None:
    """A miss is verified against a dummy hash, so timing does not reveal existence."""
    hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)  # production parameters
    registry = SqlBillingRegistry(sample, hasher=hasher)
    code = issue_code(sample, OPEN_LEGAL[0], now=NOW, hasher=hasher).code

    def once(number: str) -> float:
        start = time.perf_counter()
        registry.verify_binding(number, OPEN_LEGAL[1], OPEN_LEGAL[2], code[::-1], NOW)
        return time.perf_counter() - start

    # Interleaved, so a burst of load on a shared machine hits both sides alike.
    pairs = [(once(OPEN_LEGAL[0]), once("7701-999999")) for _ in range(9)]
    known = statistics.median(k for k, _ in pairs)
    unknown = statistics.median(u for _, u in pairs)
    assert 0.5 < unknown / known < 2.0, (known, unknown)
