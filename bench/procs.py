"""Processes the benchmark starts on free ports: Temporal dev server, SMTP sink, worker, API, peer."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from devstack.procs import free_port, stop_process, temporal_dev_server_command, wait_http, wait_tcp  # noqa: F401  (free_port: bench.run)

ROOT = Path(__file__).resolve().parents[1]


def stop(proc: subprocess.Popen[bytes]) -> None:
    stop_process(proc, timeout=20)


def temporal_server(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    """A durable dev server (SQLite file), as the embedded stack runs it."""
    proc = subprocess.Popen(temporal_dev_server_command(port, workdir / "temporal.db"), stdout=subprocess.DEVNULL)
    wait_tcp(port, proc=proc)
    return proc


def mail_sink(workdir: Path, smtp_port: int, http_port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack.mailsink", "--smtp-port", str(smtp_port), "--http-port", str(http_port),
         "--data-dir", str(workdir / "mailsink")],
        cwd=ROOT, stderr=subprocess.DEVNULL,
    )
    wait_http(f"http://127.0.0.1:{http_port}/livez", timeout=60, proc=proc)
    return proc


def lkk_env(**settings: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LKK_")}
    env.update({f"LKK_{k.upper()}": str(v) for k, v in settings.items()})
    env["LKK_LOG_LEVEL"] = "WARNING"
    env["LKK_ENVIRONMENT"] = "development"  # unset would mean production (the guard)
    return env


def worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)


def api(port: int, env: dict[str, str], *, workers: int) -> subprocess.Popen[bytes]:
    """ЛКК's API as the image runs it (api.serve); several processes only through uvicorn's
    own supervisor, which has no place for the drain (the bench never stops it under load)."""
    if workers > 1:
        return uvicorn("api.main:app", port, env, workers=workers)
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env={**env, "LKK_SHUTDOWN_DRAIN_SECONDS": "0"},  # no balancer to drain for
    )
    wait_http(f"http://127.0.0.1:{port}/openapi.json", timeout=60, proc=proc)
    wait_guides(f"http://127.0.0.1:{port}")
    return proc


def wait_guides(base: str) -> None:
    """The API builds its PDF guides in the background after start-up (seconds of CPU):
    wait for them (each request blocks until its guide is built), or the first closed
    loop would count that CPU as the onboardings'."""
    from lkk.guides.build import GUIDES

    for slug in GUIDES:
        with urllib.request.urlopen(f"{base}/guides/{slug}.pdf", timeout=300) as response:
            response.read()


def uvicorn(app: str, port: int, env: dict[str, str], *, workers: int, python: str = sys.executable,
            probe: str = "/openapi.json") -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [python, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
         "--no-proxy-headers", "--no-access-log", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    wait_http(f"http://127.0.0.1:{port}{probe}", timeout=60, proc=proc)
    return proc


def rss_mb(pid: int) -> float:
    """Resident memory of one process (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _stat_fields(pid: int) -> list[str]:
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int, *, descendants: bool = True) -> float:
    """User + system CPU time of a process and (by default) its live descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir() if descendants else ():
        if entry.name.isdigit():
            try:
                children.setdefault(int(_stat_fields(int(entry.name))[1]), []).append(int(entry.name))
            except (OSError, IndexError):
                continue  # exited meanwhile
    ticks, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = _stat_fields(current)
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
        todo += children.get(current, [])
    return ticks / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds spent by named processes (and the benchmark itself) between two points."""

    def __init__(self, this_process: str, **pids: int) -> None:
        self.this_process = this_process
        self.pids = {**pids, this_process: os.getpid()}
        self._start = self._now()

    def _now(self) -> dict[str, float]:
        # This process without its children: those are the servers measured by name.
        return {name: cpu_seconds(pid, descendants=name != self.this_process) for name, pid in self.pids.items()}

    def per_item_ms(self, items: int) -> dict[str, float]:
        now = self._now()
        return {name: (now[name] - self._start[name]) * 1000 / max(items, 1) for name in self.pids}


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}
