"""``python -m devstack run``: the whole embedded stack on this machine (``make run``).

Temporal's dev server, the SMTP sink, the worker, the API and the start-up banner
(honcho + Procfile); Ctrl-C stops them all. A developer's tool: it never ships in
the image, where the admin commands are ``lkk …`` (lkkctl).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from lkk import schema
from lkk.settings import Environment, get_settings

ROOT = Path(__file__).resolve().parents[1]


def run() -> int:
    """Migrate the embedded database, then start every process of the Procfile."""
    # The embedded stack is development by definition; unset would mean production.
    os.environ["LKK_ENVIRONMENT"] = Environment.DEVELOPMENT.value
    get_settings.cache_clear()
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Migrate before anything starts: the API and the worker never change the schema.
    schema.upgrade(settings.database_url)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONUNBUFFERED", "1")
    honcho = subprocess.Popen(["honcho", "start", "-f", str(ROOT / "Procfile")], cwd=ROOT, env=env)
    # Ctrl-C reaches honcho too (one process group) and honcho stops every process: wait
    # for that rather than kill honcho half-way, which would leave the stack running.
    signal.signal(signal.SIGINT, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: honcho.terminate())
    return honcho.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description="The embedded development stack.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="Start Temporal dev server, SMTP sink, worker and API; Ctrl-C stops all.")
    parser.parse_args(argv)
    return run()


if __name__ == "__main__":
    raise SystemExit(main())
