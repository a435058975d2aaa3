"""The ``lkk`` command (``python -m lkkctl --help``): the admin tools that ship in the image.

``lkk db`` migrates, ``lkk support`` finds a customer's runs, ``lkk ops`` exports and
replays histories, ``lkk billing`` imports exports and issues codes. The embedded dev
stack is not here: ``python -m devstack run`` (it never ships).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Optional

import typer

from lkk import schema
from lkk.logging_setup import configure_logging
from lkk.settings import get_settings
from lkk.temporal import exit_skipping_finalization
from lkkctl.billing import app as billing_app

app = typer.Typer(help="ЛКК onboarding service: admin commands.", no_args_is_help=True)
db = typer.Typer(help="App database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(billing_app, name="billing", help="The supplier's billing registry: import exports, issue binding codes.")
app.add_typer(db, name="db")


support = typer.Typer(help="Support: find a customer's onboarding runs.", no_args_is_help=True)
app.add_typer(support, name="support")
ops = typer.Typer(help="Ops: export and replay workflow histories (see docs/ops.md).", no_args_is_help=True)
app.add_typer(ops, name="ops")


@db.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate LKK_DATABASE_URL to the newest schema (production: a one-shot job before a rollout)."""
    configure_logging(get_settings())
    schema.upgrade(get_settings().database_url, revision)
    typer.echo(f"database at revision {schema.current_revision(get_settings().database_url)}")


@db.command("check")
def db_check() -> None:
    """Exit 1 if the database is not at head or differs from the models."""
    url = get_settings().database_url
    current, head = schema.current_revision(url), schema.head_revision()
    diff = schema.pending_changes(url)
    for change in diff:
        typer.echo(f"differs from the models: {change}", err=True)
    if current != head:
        typer.echo(f"database at {current}, migrations at {head}: run `lkk db upgrade`", err=True)
    raise typer.Exit(1 if diff or current != head else 0)


@db.command("revision")
def db_revision(message: str = typer.Option(..., "-m", "--message", help="What the migration does.")) -> None:
    """Autogenerate a migration from the models (against LKK_DATABASE_URL migrated to head); review it."""
    url = get_settings().database_url
    schema.upgrade(url)
    schema.new_revision(url, message)


@support.command("find")
def support_find(
    login: Annotated[Optional[str], typer.Option(help="The customer's login (Имя пользователя).")] = None,
    email: Annotated[Optional[str], typer.Option(help="The customer's e-mail (looked up in the DB).")] = None,
) -> None:
    """Print the customer's runs: stage, times, current details, Temporal UI link."""
    if (login is None) == (email is None):
        raise typer.BadParameter("give exactly one of --login or --email")
    from lkkctl import support as support_lib
    from lkk.db import make_engine
    from lkk.temporal import connect

    settings = get_settings()

    async def run() -> support_lib.FindResult:
        client = await connect(settings)
        engine = make_engine(settings.database_url)
        try:
            return await support_lib.find(client, engine, settings, login=login, email=email)
        finally:
            engine.dispose()

    result = asyncio.run(run())
    typer.echo(support_lib.render(result))
    if not result.runs:
        raise typer.Exit(1)


@ops.command("export")
def ops_export(
    workflow_id: Annotated[str, typer.Option("--workflow-id", "-w", help="Workflow id, e.g. onboarding-<account id>.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write the history JSON to.")],
    run_id: Annotated[Optional[str], typer.Option("--run-id", "-r", help="A run; default: the latest.")] = None,
) -> None:
    """Export a run's history as JSON (the format of `temporal workflow show --output json`)."""
    from lkkctl import ops as ops_lib
    from lkk.temporal import connect

    async def run() -> int:
        client = await connect(get_settings())
        history = await ops_lib.export_history(client, workflow_id, run_id, out)
        return len(history.events)

    events = asyncio.run(run())
    typer.echo(f"{events} events of {workflow_id} written to {out}")


@ops.command("replay")
def ops_replay(
    files: Annotated[Optional[list[Path]], typer.Argument(help="History JSON files to replay.")] = None,
    workflow_id: Annotated[Optional[str], typer.Option("--workflow-id", "-w", help="Replay this run.")] = None,
    run_id: Annotated[Optional[str], typer.Option("--run-id", "-r", help="With --workflow-id; default latest.")] = None,
    query: Annotated[
        Optional[str], typer.Option("--query", "-q", help="Visibility query, e.g. \"ExecutionStatus='Failed'\".")
    ] = None,
) -> None:
    """Replay histories against the current workflow code; exit 1 if any fails."""
    sources = sum(1 for given in (files, workflow_id, query) if given)
    if sources != 1:
        raise typer.BadParameter("give history FILES, or --workflow-id, or --query")
    from lkkctl import ops as ops_lib
    from lkk.temporal import connect

    async def run() -> list[ops_lib.ReplayReport]:
        if files:
            return await ops_lib.replay_files(files)
        client = await connect(get_settings())
        if workflow_id:
            return await ops_lib.replay_run(client, workflow_id, run_id)
        assert query is not None
        return await ops_lib.replay_query(client, query)

    reports = asyncio.run(run())
    for report in reports:
        typer.echo(report.line())
    failed = sum(1 for r in reports if not r.ok)
    typer.echo(f"replayed {len(reports)}: {len(reports) - failed} ok, {failed} failed")
    if failed or not reports:
        raise typer.Exit(1)


@ops.command("stuck")
def ops_stuck(
    query: Annotated[
        str, typer.Option("--query", "-q", help="Visibility query narrowing the running runs to check.")
    ] = "ExecutionStatus='Running'",
) -> None:
    """List running runs whose workflow task keeps failing (a bug in workflow code)."""
    from lkkctl import ops as ops_lib
    from lkk.temporal import connect

    async def run() -> list[ops_lib.StuckRun]:
        return await ops_lib.stuck_runs(await connect(get_settings()), query)

    stuck = asyncio.run(run())
    for item in stuck:
        typer.echo(item.line())
    typer.echo(f"{len(stuck)} stuck run(s)")


def main() -> None:
    try:
        app()
    except SystemExit as done:  # typer ends every command this way
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        exit_skipping_finalization(code)


if __name__ == "__main__":
    main()
