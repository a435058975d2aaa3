"""``lkk billing …``: import billing exports and issue binding codes.

Also runnable on its own: ``python -m lkkctl.billing --help``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from lkk.billing.codes import MAX_VALID_DAYS, CodeIssueError, issue_code
from lkk.billing.export_files import ImportFileError
from lkk.billing.importer import import_file
from lkk.settings import get_settings
from lkk.timeutil import utcnow

app = typer.Typer(help="Billing registry: import exports, issue binding codes.", no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL; default: LKK_DATABASE_URL."),
]


def _engine(database_url: str | None) -> Engine:
    from lkk import schema
    from lkk.db import make_engine

    url = database_url or get_settings().database_url
    schema.upgrade(url)  # the same migrations as every other database; a no-op when current
    return make_engine(url)


@app.command("import")
def import_command(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="billing export, .json or .csv")
    ],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="json or csv; default: from the file name"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="validate and report, write nothing")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Import (or re-import) a billing export. All or nothing: any bad row aborts it."""
    engine = _engine(database_url)
    try:
        report = import_file(engine, file, now=utcnow(), fmt=fmt, dry_run=dry_run)
    except ImportFileError as exc:
        typer.echo(f"{file}: {len(exc.problems)} problem(s), nothing imported:", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        engine.dispose()
    typer.echo(report.summary())


@app.command("issue-code")
def issue_code_command(
    contract_number: Annotated[str, typer.Argument(help="e.g. 7701-000123")],
    valid_days: Annotated[
        int | None,
        typer.Option("--valid-days", min=1, max=MAX_VALID_DAYS, help="days the code stays valid [default: LKK_BILLING_CODE_VALID_DAYS]"),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Issue a new binding code (the previous one stops working) and print it once."""
    engine = _engine(database_url)
    try:
        days = valid_days if valid_days is not None else get_settings().billing_code_valid_days
        issued = issue_code(engine, contract_number, now=utcnow(), valid_days=days)
    except CodeIssueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        engine.dispose()
    typer.echo(f"Contract:     {issued.contract_number}")
    typer.echo(f"Binding code: {issued.code}")
    typer.echo(f"Valid until:  {issued.expires_at:%Y-%m-%d %H:%M} UTC")
    typer.echo("The code is not stored and cannot be shown again; hand it to the customer against ID.")


if __name__ == "__main__":
    app()
