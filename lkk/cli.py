"""The ``lkk`` command: ``python -m lkk.cli --help``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from lkk.settings import get_settings

app = typer.Typer(help="ЛКК onboarding service: embedded stack and admin commands.", no_args_is_help=True)
dev = typer.Typer(help="The embedded development stack.", no_args_is_help=True)
app.add_typer(dev, name="dev")
support = typer.Typer(help="Support: find a customer's onboarding runs.", no_args_is_help=True)
app.add_typer(support, name="support")
ops = typer.Typer(help="Ops: export and replay workflow histories (see docs/ops.md).", no_args_is_help=True)
app.add_typer(ops, name="ops")

ROOT = Path(__file__).resolve().parents[1]


@dev.command("run")
def dev_run() -> None:
    """Start Temporal dev server, SMTP sink, worker and API (honcho + Procfile); Ctrl-C stops all."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONUNBUFFERED", "1")
    raise typer.Exit(subprocess.call(["honcho", "start", "-f", str(ROOT / "Procfile")], cwd=ROOT, env=env))


@support.command("find")
def support_find(
    login: Annotated[Optional[str], typer.Option(help="The customer's login (Имя пользователя).")] = None,
    email: Annotated[Optional[str], typer.Option(help="The customer's e-mail (looked up in the DB).")] = None,
) -> None:
    """Print the customer's runs: stage, times, current details, Temporal UI link."""
    if (login is None) == (email is None):
        raise typer.BadParameter("give exactly one of --login or --email")
    from lkk import support as support_lib
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
    from lkk import ops as ops_lib
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
    from lkk import ops as ops_lib
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
    from lkk import ops as ops_lib
    from lkk.temporal import connect

    async def run() -> list[ops_lib.StuckRun]:
        return await ops_lib.stuck_runs(await connect(get_settings()), query)

    stuck = asyncio.run(run())
    for item in stuck:
        typer.echo(item.line())
    typer.echo(f"{len(stuck)} stuck run(s)")


if __name__ == "__main__":
    app()
