from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from lkk.billing.export_files import ImportFileError, read_export
from lkk.billing.importer import import_file
from lkk.billing.models import Contract, Meter, MeteringPoint
from lkk.billing.registry import SqlBillingRegistry, VerificationStatus
from lkk.db import make_engine
from .support import FAST_HASHER, NOW, OPEN_LEGAL, SAMPLE_CSV, SAMPLE_JSON

ALL = ["7701-000101", "7701-000102", "7701-000103", "7701-000104", "7701-000105"]


def counts(engine: Engine) -> tuple[int, ...]:
    with Session(engine) as s:
        return tuple(s.exec(select(func.count()).select_from(m)).one() for m in (Contract, MeteringPoint, Meter))


def sample_doc() -> dict[str, Any]:
    return json.loads(SAMPLE_JSON.read_text(encoding="utf-8"))


def write_json(tmp_path: Path, doc: Any, name: str = "export.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_import_json(engine: Engine) -> None:
    report = import_file(engine, SAMPLE_JSON, now=NOW)
    assert (report.contracts.created, report.metering_points.created, report.meters.created) == (5, 10, 12)
    assert counts(engine) == (5, 10, 12)
    views = SqlBillingRegistry(engine, hasher=FAST_HASHER).contract_details(ALL)
    assert [v.number for v in views] == ALL
    first = views[0]
    assert first.customer_name == 'ООО "Пример-Энерго"' and first.kpp == "000101001"
    assert [p.voltage_level for p in first.metering_points] == ["СН2", "НН", "НН"]
    assert [m.serial_number for m in first.metering_points[0].meters] == ["00112201", "00112202"]
    assert views[2].kpp is None  # the entrepreneur
    assert views[4].status == "closed"


def test_csv_and_json_samples_describe_the_same_data(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, SAMPLE_JSON, now=NOW)
    other = make_engine(f"sqlite:///{tmp_path}/csv.db")
    SQLModel.metadata.create_all(other)
    report = import_file(other, SAMPLE_CSV, now=NOW)
    assert (report.contracts.created, report.metering_points.created, report.meters.created) == (5, 10, 12)
    a = SqlBillingRegistry(engine, hasher=FAST_HASHER).contract_details(ALL)
    b = SqlBillingRegistry(other, hasher=FAST_HASHER).contract_details(ALL)
    assert a == b
    other.dispose()


def test_csv_in_windows_1251_with_commas(engine: Engine, tmp_path: Path) -> None:
    text = SAMPLE_CSV.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    out = io.StringIO()
    csv.writer(out, delimiter=",").writerows(rows)
    path = tmp_path / "export.csv"
    path.write_bytes(out.getvalue().encode("cp1251"))
    report = import_file(engine, path, now=NOW)
    assert report.meters.created == 12


def test_reimport_is_idempotent_and_updates_fields(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, SAMPLE_JSON, now=NOW)
    again = import_file(engine, SAMPLE_CSV, now=NOW)
    assert (again.contracts.unchanged, again.metering_points.unchanged, again.meters.unchanged) == (5, 10, 12)
    assert again.contracts.created == again.contracts.updated == 0

    doc = sample_doc()
    doc["contracts"][0]["customer_name"] = 'ООО "Пример-Энерго Плюс"'
    doc["contracts"][0]["metering_points"][1]["address"] = "000001, Условная обл., г. Примерск, ул. Новая, д. 1"
    doc["contracts"][0]["metering_points"][1]["meters"][0]["next_verification_date"] = "2035-01-31"
    doc["contracts"][1]["inn"] = "  " + doc["contracts"][1]["inn"]  # normalisation makes this a no-op
    report = import_file(engine, write_json(tmp_path, doc), now=NOW)
    assert (report.contracts.updated, report.metering_points.updated, report.meters.updated) == (1, 1, 1)
    assert counts(engine) == (5, 10, 12)
    view = SqlBillingRegistry(engine, hasher=FAST_HASHER).contract_details(["7701-000101"])[0]
    assert view.customer_name == 'ООО "Пример-Энерго Плюс"'
    assert view.metering_points[1].address.endswith("ул. Новая, д. 1")
    assert str(view.metering_points[1].meters[0].next_verification_date) == "2035-01-31"


def test_reimport_removes_unlisted_points_and_meters_and_moves_meters(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, SAMPLE_JSON, now=NOW)
    doc = sample_doc()
    points = doc["contracts"][0]["metering_points"]
    moved = points[0]["meters"].pop()  # 00112202 moves to the second ТУ
    points[1]["meters"].append(moved)
    del points[2]  # TU-000101-03 and its meter are gone
    report = import_file(engine, write_json(tmp_path, {"contracts": doc["contracts"][:1]}), now=NOW)
    assert (report.metering_points.deleted, report.meters.deleted, report.meters.updated) == (1, 1, 1)
    assert counts(engine) == (5, 9, 11)  # the other contracts are untouched
    view = SqlBillingRegistry(engine, hasher=FAST_HASHER).contract_details(["7701-000101"])[0]
    assert [p.external_id for p in view.metering_points] == ["TU-000101-01", "TU-000101-02"]
    assert [m.serial_number for m in view.metering_points[1].meters] == ["00112202", "40551873"]


def test_import_never_overwrites_the_binding_code(engine: Engine, tmp_path: Path, issue: Any) -> None:
    import_file(engine, SAMPLE_JSON, now=NOW)
    code = issue(OPEN_LEGAL[0]).code
    doc = sample_doc()
    doc["contracts"][0]["customer_name"] = "ООО «Пример-Энерго» (новое имя)"
    import_file(engine, write_json(tmp_path, doc), now=NOW)
    result = SqlBillingRegistry(engine, hasher=FAST_HASHER).verify_binding(*OPEN_LEGAL, code, NOW)
    assert result.status == VerificationStatus.OK


def test_dry_run_writes_nothing(engine: Engine) -> None:
    report = import_file(engine, SAMPLE_JSON, now=NOW, dry_run=True)
    assert report.contracts.created == 5 and report.dry_run
    assert counts(engine) == (0, 0, 0)


BAD_CSV_ROWS = {
    3: "7701-000101;ООО Пример;0001473829;000101001;open;TU-1;адрес;СН2;1 ЦК;S-1;Меркурий;",  # ИНН checksum
    4: "7701-000102;АО Пример;0001592649;000150001;open;TU-2;адрес;СН3;1 ЦК;S-2;Меркурий;01.02.2030",  # voltage
    6: "7701-000104;МУП;0001209171;000101001;open;TU-3;адрес;НН;1 ЦК;S-1;Меркурий;2030-02-30",  # dup serial, bad date
    7: "7701-000103;ИП Примеров;000173615803;000101001;open;TU-4;адрес;НН;1 ЦК;S-4;Меркурий;",  # КПП for an ИП
    8: "7701-000101;ООО Другое;0001473828;000101001;open;TU-5;адрес;НН;1 ЦК;S-5;Меркурий;",  # differs from line 2
}


def bad_csv(tmp_path: Path) -> Path:
    header = SAMPLE_CSV.read_text(encoding="utf-8").splitlines()[0]
    lines = [
        header,
        "7701-000101;ООО Пример;0001473828;000101001;open;TU-1;адрес;СН2;1 ЦК;S-1;Меркурий;",
        BAD_CSV_ROWS[3],
        BAD_CSV_ROWS[4],
        "7701-000104;МУП;0001209171;000101001;open;TU-6;адрес;НН;1 ЦК;S-6;Меркурий;",
        BAD_CSV_ROWS[6],
        BAD_CSV_ROWS[7],
        BAD_CSV_ROWS[8],
    ]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_csv_reports_line_numbers_and_imports_nothing(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, SAMPLE_JSON, now=NOW)
    with pytest.raises(ImportFileError) as exc:
        import_file(engine, bad_csv(tmp_path), now=NOW)
    where = [p.where for p in exc.value.problems]
    assert "line 3, inn" in where
    assert "line 4, voltage_level" in where
    assert "line 6, meter_next_verification" in where
    assert "line 7, kpp" in where
    assert "line 8, customer_name" in where
    assert all(not w.startswith(("line 2", "line 5")) for w in where)
    messages = {p.where: p.message for p in exc.value.problems}
    assert "контрольное число" in messages["line 3, inn"]
    # nothing changed: the earlier import is intact, the good rows were not written
    assert counts(engine) == (5, 10, 12)
    assert SqlBillingRegistry(engine, hasher=FAST_HASHER).contract_details(["7701-000101"])[0].customer_name == (
        'ООО "Пример-Энерго"'
    )


def test_csv_duplicate_meter_and_point_under_two_contracts(tmp_path: Path) -> None:
    header = SAMPLE_CSV.read_text(encoding="utf-8").splitlines()[0]
    path = tmp_path / "dup.csv"
    path.write_text(
        "\n".join(
            [
                header,
                "7701-000101;ООО Пример;0001473828;000101001;open;TU-1;адрес;СН2;1 ЦК;S-1;Меркурий;",
                "",  # blank lines are skipped but still counted
                "7701-000101;ООО Пример;0001473828;000101001;open;TU-1;адрес;СН2;1 ЦК;S-1;Меркурий;",
                "7701-000104;МУП;0001209171;000101001;open;TU-1;адрес;СН2;1 ЦК;S-9;Меркурий;",
                "7701-000104;МУП;0001209171;000101001;open;TU-9;адрес;СН2;1 ЦК",
            ]
        ),
        encoding="utf-8",
    )
    with pytest.raises(ImportFileError) as exc:
        read_export(path)
    assert [p.where for p in exc.value.problems] == ["line 4, meter_serial", "line 5, point_id", "line 6"]
    assert "строке 2" in exc.value.problems[0].message


def test_csv_header_problems(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("contract_number;customer_name;inn;kp\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as exc:
        read_export(path)
    text = " ".join(str(p) for p in exc.value.problems)
    assert "missing columns: kpp, contract_status" in text and "unknown columns: kp" in text


def test_bad_json_reports_paths_and_imports_nothing(engine: Engine, tmp_path: Path) -> None:
    doc = sample_doc()
    doc["contracts"][1]["kpp"] = "12"
    doc["contracts"][2]["metering_points"][0]["meters"][0]["serial_number"] = "00112201"  # used by contract 0
    doc["contracts"][3]["inn"] = 1234567890  # a number, not a string
    doc["contracts"][4]["metering_points"][0]["colour"] = "red"
    del doc["contracts"][0]["metering_points"][1]["tariff"]
    with pytest.raises(ImportFileError) as exc:
        import_file(engine, write_json(tmp_path, doc), now=NOW)
    where = {p.where for p in exc.value.problems}
    assert where == {
        "$.contracts[1].kpp",
        "$.contracts[3].inn",
        "$.contracts[4].metering_points[0].colour",
        "$.contracts[0].metering_points[1].tariff",
    }
    assert counts(engine) == (0, 0, 0)
    # once those are fixed, the duplicate serial is reported with both places
    doc = sample_doc()
    doc["contracts"][2]["metering_points"][0]["meters"][0]["serial_number"] = "00112201"
    with pytest.raises(ImportFileError) as exc:
        import_file(engine, write_json(tmp_path, doc), now=NOW)
    (problem,) = exc.value.problems
    assert problem.where == "$.contracts[2].metering_points[0].meters[0].serial_number"
    assert "$.contracts[0].metering_points[0].meters[0].serial_number" in problem.message


def test_json_syntax_error_has_a_line_number(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"number": "7701-000101",\n  }\n]', encoding="utf-8")
    with pytest.raises(ImportFileError) as exc:
        read_export(path)
    assert exc.value.problems[0].where.startswith("line 3")


def test_json_top_level_list_is_accepted(engine: Engine, tmp_path: Path) -> None:
    report = import_file(engine, write_json(tmp_path, sample_doc()["contracts"]), now=NOW)
    assert report.contracts.created == 5


def test_empty_export_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError):
        read_export(write_json(tmp_path, {"contracts": []}))
