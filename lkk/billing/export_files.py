"""Reading billing export files (JSON or CSV) into validated ``ContractCreate`` objects.

Nothing is written here. Every problem in the file is collected with its location
(CSV line number and column, or JSON path) so the operator can fix them all at once;
``ImportFileError`` carries the list. Formats: docs/billing-import.md.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from lkk.billing.models import ContractCreate, MeterCreate, MeteringPointCreate
from lkk.validation import error_text

MAX_PROBLEMS = 200  # a wholly wrong file should not print a million lines

# CSV column → record field. One row per meter; contract and ТУ columns are repeated.
CONTRACT_COLUMNS = {
    "contract_number": "number",
    "customer_name": "customer_name",
    "inn": "inn",
    "kpp": "kpp",
    "contract_status": "status",
}
POINT_COLUMNS = {
    "point_id": "external_id",
    "point_address": "address",
    "voltage_level": "voltage_level",
    "tariff": "tariff",
}
METER_COLUMNS = {
    "meter_serial": "serial_number",
    "meter_model": "model",
    "meter_next_verification": "next_verification_date",
}
CSV_COLUMNS = [*CONTRACT_COLUMNS, *POINT_COLUMNS, *METER_COLUMNS]

_PYDANTIC_MESSAGES = {
    "missing": "Обязательное поле не заполнено.",
    "extra_forbidden": "Неизвестное поле.",
    "string_type": "Ожидается строка (числа — в кавычках, чтобы не потерять ведущие нули).",
    "list_type": "Ожидается список.",
    "model_type": "Ожидается объект.",
    "model_attributes_type": "Ожидается объект.",
    "dict_type": "Ожидается объект.",
}


@dataclass(frozen=True)
class Problem:
    where: str  # "line 7, inn" or "$.contracts[2].metering_points[0].address"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class ImportFileError(Exception):
    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the billing export")
        self.problems = list(problems)


def read_export(path: Path, fmt: str | None = None) -> list[ContractCreate]:
    """Parse and validate a whole export; raise ``ImportFileError`` listing every problem."""
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    data = path.read_bytes()
    if fmt == "json":
        return parse_json(data)
    if fmt == "csv":
        return parse_csv(data)
    raise ImportFileError([Problem(str(path), "unknown format: use a .json or .csv file (or --format)")])


# --- JSON ------------------------------------------------------------------------------

_CONTRACT_LIST = TypeAdapter(list[ContractCreate])


def parse_json(data: bytes) -> list[ContractCreate]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ImportFileError([Problem("file", "JSON must be UTF-8")]) from None
    except json.JSONDecodeError as exc:
        raise ImportFileError([Problem(f"line {exc.lineno}, column {exc.colno}", f"invalid JSON: {exc.msg}")]) from None
    if isinstance(doc, Mapping) and "contracts" in doc:  # other top-level keys are metadata
        items, root = doc["contracts"], "$.contracts"
    elif isinstance(doc, list):
        items, root = doc, "$"
    else:
        raise ImportFileError([Problem("$", 'expected a list of contracts or {"contracts": [...]}')])
    if not isinstance(items, list):
        raise ImportFileError([Problem(root, "Ожидается список.")])
    try:
        records = _CONTRACT_LIST.validate_python(items)
    except ValidationError as exc:
        raise ImportFileError(
            [Problem(_json_path(root, err["loc"]), _message(err)) for err in exc.errors()][:MAX_PROBLEMS]
        ) from None
    problems = _json_duplicates(records, root)
    if not records:
        problems.append(Problem(root, "Файл не содержит ни одного договора."))
    if problems:
        raise ImportFileError(problems[:MAX_PROBLEMS])
    return records


def _json_path(root: str, loc: Sequence[int | str]) -> str:
    out = root
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _json_duplicates(records: list[ContractCreate], root: str) -> list[Problem]:
    problems: list[Problem] = []
    contracts: dict[str, str] = {}
    points: dict[str, str] = {}
    meters: dict[str, str] = {}
    for i, c in enumerate(records):
        _once(contracts, c.number, f"{root}[{i}].number", "Договор", problems)
        for j, p in enumerate(c.metering_points):
            _once(points, p.external_id, f"{root}[{i}].metering_points[{j}].external_id", "ТУ", problems)
            for k, m in enumerate(p.meters):
                where = f"{root}[{i}].metering_points[{j}].meters[{k}].serial_number"
                _once(meters, m.serial_number, where, "Прибор учёта", problems)
    return problems


def _once(seen: dict[str, str], key: str, where: str, what: str, problems: list[Problem]) -> None:
    if key in seen:
        problems.append(Problem(where, f"{what} {key} уже указан(а) в {seen[key]}."))
    else:
        seen[key] = where


# --- CSV -------------------------------------------------------------------------------


@dataclass
class _CsvPoint:
    fields: MeteringPointCreate  # without its meters: they come on the following rows
    contract: str
    line: int
    meters: list[MeterCreate] = field(default_factory=list)


@dataclass
class _CsvContract:
    fields: ContractCreate  # without its metering points
    line: int
    points: list[_CsvPoint] = field(default_factory=list)


@dataclass
class _CsvState:
    contracts: dict[str, _CsvContract] = field(default_factory=dict)
    points: dict[str, _CsvPoint] = field(default_factory=dict)  # across contracts: ids are global
    meter_lines: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def parse_csv(data: bytes) -> list[ContractCreate]:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader, [])]
    header_problems = _check_header(header)
    if header_problems:
        raise ImportFileError(header_problems)

    state = _CsvState()
    while len(state.problems) < MAX_PROBLEMS:
        line = reader.line_num + 1  # where the next record starts
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            state.problems.append(Problem(f"line {line}", f"malformed CSV: {exc}"))
            break
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            state.problems.append(Problem(f"line {line}", f"expected {len(header)} columns, got {len(row)}"))
            continue
        _add_row(dict(zip(header, row, strict=True)), line, state)

    if not state.contracts and not state.problems:
        state.problems.append(Problem("file", "Файл не содержит ни одного договора."))
    if state.problems:
        raise ImportFileError(state.problems[:MAX_PROBLEMS])
    return [
        c.fields.model_copy(
            update={"metering_points": [p.fields.model_copy(update={"meters": p.meters}) for p in c.points]}
        )
        for c in state.contracts.values()
    ]


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM, as Excel writes it), else Windows-1251."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251")


def _check_header(header: list[str]) -> list[Problem]:
    problems = []
    missing = [c for c in CSV_COLUMNS if c not in header]
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if missing:
        problems.append(Problem("line 1", f"missing columns: {', '.join(missing)}"))
    if unknown:
        problems.append(Problem("line 1", f"unknown columns: {', '.join(unknown)}"))
    if len(set(header)) != len(header):
        problems.append(Problem("line 1", "duplicate column names"))
    return problems


def _add_row(row: dict[str, str], line: int, state: _CsvState) -> None:
    """Validate one row and merge it into what the earlier rows described."""
    problems = state.problems
    contract_fields = _validate(ContractCreate, row, CONTRACT_COLUMNS, line, problems)
    has_point = any(row[c].strip() for c in POINT_COLUMNS)
    has_meter = any(row[c].strip() for c in METER_COLUMNS)
    point_fields = _validate(MeteringPointCreate, row, POINT_COLUMNS, line, problems) if has_point else None
    meter = _validate(MeterCreate, row, METER_COLUMNS, line, problems) if has_meter else None
    if has_meter and not has_point:
        problems.append(Problem(f"line {line}, point_id", "Прибор учёта указан без точки учёта."))
    if contract_fields is None or (has_point and point_fields is None) or (has_meter and meter is None):
        return

    contract = state.contracts.setdefault(contract_fields.number, _CsvContract(contract_fields, line))
    if contract.fields != contract_fields:
        problems.append(_mismatch(line, "договора", contract.line, contract.fields, contract_fields, CONTRACT_COLUMNS))
        return
    if point_fields is None:
        return
    point = state.points.get(point_fields.external_id)
    if point is None:
        point = state.points[point_fields.external_id] = _CsvPoint(point_fields, contract_fields.number, line)
        contract.points.append(point)
    elif point.contract != contract_fields.number:
        problems.append(
            Problem(
                f"line {line}, point_id",
                f"ТУ {point.fields.external_id} уже указана в строке {point.line} у договора {point.contract}.",
            )
        )
        return
    elif point.fields != point_fields:
        problems.append(_mismatch(line, "точки учёта", point.line, point.fields, point_fields, POINT_COLUMNS))
        return
    if meter is None:
        return
    seen = state.meter_lines.setdefault(meter.serial_number, line)
    if seen != line:
        problems.append(
            Problem(f"line {line}, meter_serial", f"Прибор учёта {meter.serial_number} уже указан в строке {seen}.")
        )
        return
    point.meters.append(meter)


def _validate(
    model: type[BaseModel], row: dict[str, str], columns: dict[str, str], line: int, problems: list[Problem]
) -> Any:
    values = {fld: row[col] for col, fld in columns.items()}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        by_field = {fld: col for col, fld in columns.items()}
        for err in exc.errors():
            column = by_field.get(str(err["loc"][0]), "?") if err["loc"] else "?"
            problems.append(Problem(f"line {line}, {column}", _message(err)))
        return None


def _mismatch(
    line: int, what: str, first_line: int, first: BaseModel, again: BaseModel, columns: dict[str, str]
) -> Problem:
    differing = [col for col, fld in columns.items() if getattr(first, fld) != getattr(again, fld)]
    return Problem(
        f"line {line}, {', '.join(differing)}",
        f"Данные {what} отличаются от строки {first_line}; повторяющиеся столбцы должны совпадать.",
    )


def _message(err: Mapping[str, Any]) -> str:
    return error_text(err, _PYDANTIC_MESSAGES)
