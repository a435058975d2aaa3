"""The ``lkk`` command: ``python -m lkk.cli --help``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer

from lkk.billing.cli import app as billing_app
from lkk.settings import get_settings

app = typer.Typer(help="ЛКК onboarding service: embedded stack and admin commands.", no_args_is_help=True)
dev = typer.Typer(help="The embedded development stack.", no_args_is_help=True)
app.add_typer(dev, name="dev")
app.add_typer(billing_app, name="billing", help="The supplier's billing registry: import exports, issue binding codes.")

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


if __name__ == "__main__":
    app()
