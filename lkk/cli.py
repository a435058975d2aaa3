"""The ``lkk`` command: ``python -m lkk.cli --help``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer

from lkk.billing.cli import app as billing_app
from lkk import schema
from lkk.logging_setup import configure_logging
from lkk.settings import get_settings

app = typer.Typer(help="ЛКК onboarding service: embedded stack and admin commands.", no_args_is_help=True)
dev = typer.Typer(help="The embedded development stack.", no_args_is_help=True)
db = typer.Typer(help="App database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(dev, name="dev")
app.add_typer(billing_app, name="billing", help="The supplier's billing registry: import exports, issue binding codes.")
app.add_typer(db, name="db")

ROOT = Path(__file__).resolve().parents[1]


@dev.command("run")
def dev_run() -> None:
    """Start Temporal dev server, SMTP sink, worker and API (honcho + Procfile); Ctrl-C stops all."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Migrate before anything starts: the API and the worker never change the schema.
    schema.upgrade(settings.database_url)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONUNBUFFERED", "1")
    raise typer.Exit(subprocess.call(["honcho", "start", "-f", str(ROOT / "Procfile")], cwd=ROOT, env=env))


@db.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate LKK_DATABASE_URL to the newest schema (production: a one-shot job before a rollout)."""
    configure_logging()
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


if __name__ == "__main__":
    app()
