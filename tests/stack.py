"""Run the real worker and API as subprocesses (as the embedded stack does) for tests."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, ExitStack
from dataclasses import dataclass

import httpx

from lkk import schema
from lkk.settings import Settings
from tests.conftest import ROOT, env_for, free_port, stop_process, wait_http


@dataclass(frozen=True)
class Stack:
    api_url: str
    settings: Settings


@contextmanager
def worker_process(settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env_for(settings))
    try:
        yield proc
    finally:
        stop_process(proc)


@contextmanager
def api_process(settings: Settings, port: int, *, wait_until_ready: bool = True) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m api.serve`` as in the Procfile/Dockerfile; waits for /readyz (or only /healthz)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env_for(settings),
    )
    try:
        if wait_until_ready:  # the database reachable (what the balancer checks) and Temporal connected
            wait_http(f"http://127.0.0.1:{port}/readyz", proc=proc, ok=lambda status: status == 200)
            wait_temporal(f"http://127.0.0.1:{port}", proc)
        else:
            wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc, ok=lambda status: status == 200)
        yield proc
    finally:
        stop_at_once(proc)


def stop_at_once(proc: subprocess.Popen[bytes]) -> None:
    """Two SIGTERMs: the second skips the drain (nothing balances these tests' APIs)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.05)  # two signals at once might reach the handler as one
    stop_process(proc)


def wait_temporal(api_url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 30.0) -> None:
    """Until /readyz reports Temporal up (the API connects to it in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"API at {api_url} exited with {proc.returncode}")
        if httpx.get(f"{api_url}/readyz", timeout=5).json()["checks"]["temporal"] == "ok":
            return
        time.sleep(0.2)
    raise TimeoutError(f"{api_url} did not connect to Temporal")


@contextmanager
def running_stack(settings: Settings, *, workers: int = 1, apis: int = 1) -> Iterator[list[Stack]]:
    """Workers and API processes sharing one database and one Temporal namespace.

    The public URL (what e-mail links use) is the first API's address, as if a load
    balancer fronted them all.
    """
    schema.upgrade(settings.database_url)  # as `python -m devstack run` / the compose migrate job do
    ports = [free_port() for _ in range(apis)]
    settings = settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{ports[0]}"})
    with ExitStack() as stack:
        for _ in range(workers):
            stack.enter_context(worker_process(settings))
        for port in ports:
            stack.enter_context(api_process(settings, port))
        yield [Stack(api_url=f"http://127.0.0.1:{port}", settings=settings) for port in ports]
