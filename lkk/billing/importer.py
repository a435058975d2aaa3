"""Loading a validated billing export into the registry tables.

One transaction for the whole file: either every contract is imported or none is.
Upserts are keyed by contract number, ТУ external id and meter serial, so importing the
same file twice changes nothing. The file is authoritative for the contracts it lists:
a ТУ or meter no longer listed under such a contract is removed (a replaced meter, a
disconnected point). Contracts missing from the file are left alone; closing a contract
is done with its status. Binding codes are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from lkk.billing.export_files import read_export
from lkk.billing.models import (
    Contract,
    ContractBase,
    ContractCreate,
    Meter,
    MeterBase,
    MeteringPoint,
    MeteringPointBase,
)
from lkk.timeutil import as_utc

_CHUNK = 500  # stays below SQLite's bound-parameter limit
_Row = TypeVar("_Row", bound=SQLModel)


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, {self.deleted} deleted"


@dataclass
class ImportReport:
    contracts: Counts = field(default_factory=Counts)
    metering_points: Counts = field(default_factory=Counts)
    meters: Counts = field(default_factory=Counts)
    dry_run: bool = False

    def summary(self) -> str:
        return (
            f"contracts: {self.contracts}\nmetering points: {self.metering_points}\nmeters: {self.meters}"
            + ("\n(dry run: nothing was written)" if self.dry_run else "")
        )


def import_file(
    engine: Engine, path: Path, *, now: datetime, fmt: str | None = None, dry_run: bool = False
) -> ImportReport:
    """Validate the whole file first (``ImportFileError`` lists every bad row), then import."""
    return import_records(engine, read_export(path, fmt), now=now, dry_run=dry_run)


def import_records(
    engine: Engine, records: Sequence[ContractCreate], *, now: datetime, dry_run: bool = False
) -> ImportReport:
    report = ImportReport(dry_run=dry_run)
    with Session(engine, expire_on_commit=False) as session:
        try:
            _apply(session, records, as_utc(now), report)
            if dry_run:
                session.rollback()  # the report shows what *would* change
            else:
                session.commit()
        except BaseException:
            session.rollback()
            raise
    return report


def _apply(session: Session, records: Sequence[ContractCreate], now: datetime, report: ImportReport) -> None:
    contracts = _by(session, Contract, Contract.number, [r.number for r in records], "number")
    for rec in records:
        values = _columns(rec, ContractBase, "number")
        row = contracts.get(rec.number)
        if row is None:
            row = contracts[rec.number] = Contract(number=rec.number, created_at=now, updated_at=now, **values)
            session.add(row)
            report.contracts.created += 1
        elif _update(row, values):
            row.updated_at = now
            report.contracts.updated += 1
        else:
            report.contracts.unchanged += 1
    session.flush()  # contract ids for the points

    point_recs = [(p, contracts[c.number].id) for c in records for p in c.metering_points]
    points = _by(session, MeteringPoint, MeteringPoint.external_id, [p.external_id for p, _ in point_recs], "external_id")
    for prec, contract_id in point_recs:
        values = {"contract_id": contract_id, **_columns(prec, MeteringPointBase, "external_id")}
        key = {"external_id": prec.external_id}
        points[prec.external_id] = _upsert(session, points.get(prec.external_id), MeteringPoint, key, values, report.metering_points)
    session.flush()  # point ids for the meters

    meter_recs = [(m, points[p.external_id].id) for c in records for p in c.metering_points for m in p.meters]
    meters = _by(session, Meter, Meter.serial_number, [m.serial_number for m, _ in meter_recs], "serial_number")
    for mrec, point_id in meter_recs:
        values = {"metering_point_id": point_id, **_columns(mrec, MeterBase, "serial_number")}
        key = {"serial_number": mrec.serial_number}
        _upsert(session, meters.get(mrec.serial_number), Meter, key, values, report.meters)
    session.flush()

    _remove_unlisted(session, [contracts[r.number].id for r in records], point_recs, meter_recs, report)


def _remove_unlisted(
    session: Session,
    contract_ids: list[int | None],
    point_recs: list[tuple[Any, int | None]],
    meter_recs: list[tuple[Any, int | None]],
    report: ImportReport,
) -> None:
    """ТУ and meters of the file's contracts that the file no longer lists."""
    listed_points = {p.external_id for p, _ in point_recs}
    listed_meters = {m.serial_number for m, _ in meter_recs}
    points = _load(session, MeteringPoint, MeteringPoint.contract_id, contract_ids)
    meters = _load(session, Meter, Meter.metering_point_id, [p.id for p in points])
    for meter in meters:
        if meter.serial_number not in listed_meters:
            session.delete(meter)
            report.meters.deleted += 1
    session.flush()
    for point in points:
        if point.external_id not in listed_points:
            session.delete(point)
            report.metering_points.deleted += 1
    session.flush()


def _columns(record: SQLModel, base: type[SQLModel], key: str) -> dict[str, Any]:
    """The record's values of the table's columns (the family's ``…Base``), its key aside."""
    return {name: getattr(record, name) for name in base.model_fields if name != key}


def _upsert(
    session: Session, row: _Row | None, model: type[_Row], key: dict[str, Any], values: dict[str, Any], counts: Counts
) -> _Row:
    if row is None:
        row = model(**key, **values)
        session.add(row)
        counts.created += 1
    elif _update(row, values):
        counts.updated += 1
    else:
        counts.unchanged += 1
    return row


def _update(row: SQLModel, values: dict[str, Any]) -> bool:
    """Set the values that differ; True when anything changed."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _by(session: Session, model: type[_Row], column: Any, keys: Iterable[str], attr: str) -> dict[str, _Row]:
    return {getattr(row, attr): row for row in _load(session, model, column, keys)}


def _load(session: Session, model: type[_Row], column: Any, keys: Iterable[Any]) -> list[_Row]:
    unique = list(dict.fromkeys(keys))
    rows: list[_Row] = []
    for start in range(0, len(unique), _CHUNK):
        rows.extend(session.exec(select(model).where(col(column).in_(unique[start : start + _CHUNK]))).all())
    return rows
