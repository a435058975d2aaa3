"""Helpers for starting local processes on free ports (tests, benchmarks, doc tools)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tool(name: str) -> str:
    """A binary installed into the virtualenv by the project's requirements (e.g. `temporal`)."""
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed; run `make install` (or `make test`)")
    return found


def wait_http(
    url: str,
    timeout: float = 30.0,
    proc: subprocess.Popen[bytes] | None = None,
    ok: Callable[[int], bool] = lambda status: status < 500,
) -> None:
    """Poll ``url`` until it answers ``ok``; fail fast if ``proc`` died meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            if ok(httpx.get(url, timeout=3.0).status_code):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


def wait_tcp(port: int, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until something accepts on 127.0.0.1:``port``; fail fast if ``proc`` died meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


def temporal_dev_server_command(port: int, db_file: Path, *, ui_port: int | None = None) -> list[str]:
    """`temporal server start-dev` as the embedded stack runs it: durable SQLite file in WAL
    without an fsync per commit (the Procfile's pragmas), ЛКК's search attributes, the Web
    UI only when ``ui_port`` is given."""
    # Imported here: the workflow package is not needed to start other processes.
    from workflows.search_attributes import dev_server_flags

    command = [
        tool("temporal"), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port),
        "--db-filename", str(db_file), "--log-level", "error",
        "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
    ]
    command += ["--headless"] if ui_port is None else ["--ui-ip", "127.0.0.1", "--ui-port", str(ui_port)]
    return command + dev_server_flags()


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
