"""`make bench`: the service's figures against their limits and a peer, in one run.

    .venv/bin/python -m bench.run [--duration 20] [--users 16] [--pending 10000] [--api-workers 2]

Prints a table and writes docs/performance.md (machine, command, date). Everything
runs on free ports in a fresh directory under var/bench/: a durable Temporal dev
server, the SMTP sink, the ЛКК worker and API as processes, the fastapi-users peer
in its own virtualenv (var/peer-venv, created on first use).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from bench import procs
from bench.argon2_limit import cpu_ms_per_verify, verifies_per_second
from bench.baseline import run_baseline
from bench.load import Http, Latencies, MailWatcher, closed_loop, open_loop, timed
from bench.pending import run_pending
from lkk import schema
from lkk.settings import Settings

PASSWORD = "зимний-вечер-2026"
SECRET = "bench-secret-key-0123456789abcdef0123456789"
PEER_VENV = procs.ROOT / "var" / "peer-venv"
PEER_REQUIREMENTS = procs.ROOT / "bench" / "peers" / "requirements.txt"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=20.0, help="seconds per throughput phase")
    p.add_argument("--users", type=int, default=16, help="concurrent clients in closed-loop phases")
    p.add_argument("--pending", type=int, default=10_000, help="pending sign-ups for the memory/expiry phase")
    p.add_argument("--pending-rate", type=float, default=50.0, help="sign-ups started per second in that phase")
    p.add_argument("--pending-ttl", type=int, default=0, help="their TTL in s (0: enough to start them all)")
    p.add_argument("--api-workers", type=int, default=1,
                   help="ЛКК's uvicorn processes (argon2 runs in a thread pool gated per core: one fills every core)")
    p.add_argument("--peer-workers", type=int, default=os.cpu_count() or 1,
                   help="the peer's uvicorn processes (fastapi-users hashes in the event loop: one per core)")
    p.add_argument("--skip-peer", action="store_true")
    p.add_argument("--out", default="docs/performance.md")
    return p.parse_args(argv)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run_id = uuid.uuid4().hex[:6]
        self.workdir = procs.ROOT / "var" / "bench" / self.run_id
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.rows: list[tuple[str, str, str, str]] = []  # (figure, value, vs, target)
        self.notes: list[str] = []
        self.defaults = Settings(_env_file=None, environment="development")  # type: ignore[call-arg]

    def cpu_row(self, figure: str, per_item: dict[str, float]) -> dict[str, float]:
        """Where the CPU of one item went, per process (ms); returns the split with its total."""
        total = sum(per_item.values())
        split = " · ".join(f"{name} {ms:.1f}" for name, ms in per_item.items())
        self.row(figure, f"{total:.1f} ms", split)
        return {**per_item, "total": total}

    def row(self, figure: str, value: str, versus: str = "", target: str = "") -> None:
        self.rows.append((figure, value, versus, target))
        print(f"  {figure:<58} {value:>14}  {versus:<28} {target}", flush=True)

    # --------------------------------------------------------------- ЛКК stack

    def lkk_settings(self, queue: str) -> dict[str, object]:
        return {
            "database_url": f"sqlite:///{self.workdir}/lkk.db",
            "temporal_address": self.address,
            "temporal_task_queue": queue,
            "smtp_port": self.smtp_port,
            "captcha_test_answer": "TEST42",
            "secret_key": SECRET,
            "public_base_url": "http://lkk.bench",
            "data_dir": str(self.workdir),
            # A benchmark from one IP is not an attack: lift per-IP limits where the app has them.
            **{name: "1000000/minute" for name in Settings.model_fields
               if name.startswith("rate_limit_") and name not in ("rate_limit_storage_uri", "rate_limit_key_prefix")},
        }

    async def main(self) -> None:
        a = self.args
        print(f"machine: {procs.machine()}", flush=True)
        port, self.smtp_port, sink_http = procs.free_port(), procs.free_port(), procs.free_port()
        self.address = f"127.0.0.1:{port}"
        server = procs.temporal_server(self.workdir, port)
        sink = procs.mail_sink(self.workdir, self.smtp_port, sink_http)
        self.server_pid, self.sink_pid = server.pid, sink.pid
        self.sink_url = f"http://127.0.0.1:{sink_http}"
        try:
            limit = self.argon2_limit()
            await self.lkk_phase(limit)
            await self.baseline_phase()
            if not a.skip_peer:
                await self.peer_phase(limit)
            await self.pending_phase()
        finally:
            procs.stop(sink)
            procs.stop(server)
        self.write_report()

    def argon2_limit(self) -> float:
        s = self.defaults
        seconds = max(3.0, self.args.duration / 4)
        rate = verifies_per_second(s.argon2_memory_kib, s.argon2_time_cost, s.argon2_parallelism, seconds)
        self.row(f"argon2id limit (m={s.argon2_memory_kib} KiB, t={s.argon2_time_cost}, p={s.argon2_parallelism}), all cores",
                 f"{rate:.1f} /s")
        self.argon2_rate = rate
        cores = os.cpu_count() or 1
        gated, burst = (cpu_ms_per_verify(s.argon2_memory_kib, s.argon2_time_cost, s.argon2_parallelism, n, seconds)
                        for n in (cores, 16))
        self.row(f"  CPU per verification: {cores} at once (the gate) / 16 at once (no gate)",
                 f"{gated:.1f} / {burst:.1f} ms")
        return rate

    async def lkk_phase(self, limit: float) -> list[str]:
        a = self.args
        queue = f"lkk-{self.run_id}"
        env = procs.lkk_env(**self.lkk_settings(queue))
        schema.upgrade(f"sqlite:///{self.workdir}/lkk.db")  # as `python -m devstack run` does before it starts anything
        api_port = procs.free_port()
        worker = procs.worker(env)
        api = procs.api(api_port, env, workers=a.api_workers)
        client = await Client.connect(self.address, data_converter=pydantic_data_converter)
        lat = Latencies()
        confirmed: list[str] = []
        try:
            async with Http(f"http://127.0.0.1:{api_port}") as http, \
                    MailWatcher(self.sink_url) as mails:

                async def onboard(n: int, tag: str = "max") -> bool:
                    login = f"b{self.run_id}-{tag}-{n}"
                    email = f"{login}@example.ru"
                    t0 = time.perf_counter()
                    body = {"login": login, "email": email, "password": PASSWORD, "password_confirm": PASSWORD,
                            "captcha_id": "", "captcha_answer": "TEST42"}
                    r = await timed(lat, f"{tag}:register", http.post("/api/v1/registrations", json=body))
                    if r.status_code != 202:
                        print("register failed", r.status_code, r.text[:200], file=sys.stderr)
                        return False
                    token = await mails.token_for(email)
                    lat.add(f"{tag}:mail", time.perf_counter() - t0)
                    r = await timed(lat, f"{tag}:confirm", http.post("/api/v1/confirmations", json={"token": token}))
                    if r.status_code != 200:
                        print("confirm failed", r.status_code, r.text[:200], file=sys.stderr)
                        return False
                    confirmed.append(login)
                    return True

                # Warm-up, then the closed loop at saturation = the maximum rate.
                await closed_loop(4, 2.0, lambda n: onboard(n, "warm"))
                meter = procs.CpuMeter("load generator", **{"Temporal server": self.server_pid, "worker": worker.pid,
                                                            "API": api.pid, "mail sink": self.sink_pid})
                done, wall = await closed_loop(a.users, a.duration, onboard)
                max_rate = done / wall
                self.onboard_rate = max_rate
                self.row("ЛКК complete onboardings/s (register→mail→confirm→active)", f"{max_rate:.1f} /s")
                self.onboard_cpu = self.cpu_row("  CPU per onboarding at max rate", meter.per_item_ms(done))
                for call in ("register", "confirm"):
                    self.row(f"  {call} p50 / p99 at max rate", f"{lat.median('max:' + call):.0f} / {lat.pct('max:' + call, .99):.0f} ms")
                self.row("  register → mail in the sink p50 / p99", f"{lat.median('max:mail'):.0f} / {lat.pct('max:mail', .99):.0f} ms")
                # 80 % of the maximum, open loop: is registration still fast?
                done80, started80, _ = await open_loop(0.8 * max_rate, a.duration, lambda n: onboard(n, "p80"))
                self.row(f"  at 80 % of max ({0.8 * max_rate:.1f}/s): register p50 / p99",
                         f"{lat.median('p80:register'):.0f} / {lat.pct('p80:register', .99):.0f} ms", "",
                         "p99 < 300 ms " + ok(lat.pct("p80:register", .99) < 300))
                self.row("  at 80 % of max: confirm p50 / p99",
                         f"{lat.median('p80:confirm'):.0f} / {lat.pct('p80:confirm', .99):.0f} ms")
                self.row("  at 80 % of max: completed / started", f"{done80} / {started80}")
                # Every confirmation reached its workflow (it now waits for a contract binding).
                waiting = f"TaskQueue = '{queue}' AND LkkStage = 'awaiting_email'"
                for _ in range(20):
                    if (unconfirmed := (await client.count_workflows(waiting)).count) == 0:
                        break
                    await asyncio.sleep(0.5)
                self.row("  confirmed onboardings whose workflow missed the confirmation", str(unconfirmed), "",
                         "0 " + ok(unconfirmed == 0))
                await self.login_phase(http, "ЛКК", confirmed, limit, api.pid)
        finally:
            procs.stop(api)
            procs.stop(worker)
        return confirmed

    async def login_phase(self, http: Http, who: str, accounts: list[str], limit: float,
                          api_pid: int) -> None:
        schema = (await http.get("/openapi.json")).json()
        if "/api/v1/session" not in schema["paths"]:
            self.row(f"{who} logins/s via HTTP", "n/a", "login API not merged yet")
            self.lkk_login_rate = None
            return
        a = self.args

        async def one(n: int) -> bool:
            login = accounts[n % len(accounts)]
            r = await http.post("/api/v1/session", json={"login": login, "password": PASSWORD})
            if r.status_code != 200:
                print("login failed", r.status_code, r.text[:200], file=sys.stderr)
            return r.status_code == 200

        await closed_loop(4, 2.0, one)
        meter = procs.CpuMeter("load generator", API=api_pid)
        done, wall = await closed_loop(a.users, a.duration, one)
        rate = done / wall
        self.lkk_login_rate = rate
        self.row(f"{who} logins/s via HTTP", f"{rate:.1f} /s", f"{rate / limit:.0%} of argon2 limit",
                 "≥ 85 % " + ok(rate / limit >= 0.85))
        used = self.cpu_row("  CPU per login", meter.per_item_ms(done))
        argon2_ms = 1000 * (os.cpu_count() or 1) / limit
        self.row("  of which argon2 (one verification at the limit's cost)", f"{argon2_ms:.1f} ms",
                 f"{argon2_ms / used['total']:.0%} of a login's CPU")

    async def baseline_phase(self) -> None:
        meter = procs.CpuMeter("client and worker", **{"Temporal server": self.server_pid})
        done, wall = await run_baseline(self.address, self.args.users, self.args.duration)
        rate = done / wall
        self.row("bare Temporal workflow of the same shape, completed/s", f"{rate:.1f} /s")
        bare_cpu = self.cpu_row("  CPU per bare workflow", meter.per_item_ms(done))
        self.row("  Temporal server CPU: ЛКК onboarding / bare workflow",
                 f"{self.onboard_cpu['Temporal server'] / bare_cpu['Temporal server']:.2f}×")
        ratio = self.onboard_rate / rate
        self.row("ЛКК onboardings / bare workflow", f"{ratio:.2f}×", "", "≥ 1.0× " + ok(ratio >= 1.0))

    async def peer_phase(self, limit: float) -> None:
        a = self.args
        python = ensure_peer_venv()
        port = procs.free_port()
        env = {**procs.lkk_env(), "PEER_DB": str(self.workdir / "peer.db"), "PEER_SMTP_PORT": str(self.smtp_port),
               "LKK_ARGON2_MEMORY_KIB": str(self.defaults.argon2_memory_kib),
               "LKK_ARGON2_TIME_COST": str(self.defaults.argon2_time_cost),
               "LKK_ARGON2_PARALLELISM": str(self.defaults.argon2_parallelism)}
        subprocess.run([python, "-m", "bench.peers.fastapi_users_app"], cwd=procs.ROOT, env=env, check=True)
        peer = procs.uvicorn("bench.peers.fastapi_users_app:app", port, env, workers=a.peer_workers, python=python)
        lat = Latencies()
        verified: list[str] = []
        try:
            async with Http(f"http://127.0.0.1:{port}") as http, \
                    MailWatcher(self.sink_url) as mails:

                async def signup(n: int) -> bool:
                    email = f"peer-{self.run_id}-{n}@example.ru"
                    r = await timed(lat, "register", http.post("/auth/register", json={"email": email, "password": PASSWORD}))
                    if r.status_code != 201:
                        print("peer register failed", r.status_code, r.text[:200], file=sys.stderr)
                        return False
                    token = await mails.token_for(email)
                    r = await timed(lat, "verify", http.post("/auth/verify", json={"token": token}))
                    if r.status_code != 200:
                        return False
                    verified.append(email)
                    return True

                await closed_loop(4, 2.0, lambda n: signup(-n))
                done, wall = await closed_loop(a.users, a.duration, signup)
                rate = done / wall
                ratio = self.onboard_rate / rate
                self.row("fastapi-users sign-up→verified/s (not durable)", f"{rate:.1f} /s",
                         f"ЛКК {ratio:.2f}× of it", "≥ 0.5× " + ok(ratio >= 0.5))
                self.row("  fastapi-users register p50 / p99", f"{lat.median('register'):.0f} / {lat.pct('register', .99):.0f} ms")

                async def login(n: int) -> bool:
                    r = await http.post("/auth/login", data={"username": verified[n % len(verified)], "password": PASSWORD})
                    return r.status_code == 204

                await closed_loop(4, 2.0, login)
                meter = procs.CpuMeter("load generator", **{"fastapi-users": peer.pid})
                done, wall = await closed_loop(a.users, a.duration, login)
                peer_rate = done / wall
                if self.lkk_login_rate is None:
                    self.row("fastapi-users logins/s via HTTP", f"{peer_rate:.1f} /s", f"{peer_rate / limit:.0%} of argon2 limit")
                else:
                    r = self.lkk_login_rate / peer_rate
                    self.row("fastapi-users logins/s via HTTP", f"{peer_rate:.1f} /s", f"ЛКК {r:.2f}× of it",
                             "≥ 1.0× " + ok(r >= 1.0))
                self.cpu_row("  CPU per fastapi-users login", meter.per_item_ms(done))
        finally:
            procs.stop(peer)

    async def pending_phase(self) -> None:
        a = self.args
        if a.pending <= 0:
            return
        queue = f"pending-{self.run_id}"
        env = procs.lkk_env(**self.lkk_settings(queue))
        schema.upgrade(f"sqlite:///{self.workdir}/lkk.db")  # a no-op after the ЛКК phase
        worker = procs.worker(env)
        try:
            await asyncio.sleep(3)  # the worker connects and polls
            idle = procs.rss_mb(worker.pid)
            # Long enough for all of them to be waiting at once before the first expires.
            ttl = a.pending_ttl or int(a.pending / a.pending_rate) + 30
            result = await run_pending(self.address, queue, worker, a.pending, ttl, a.pending_rate)
        finally:
            procs.stop(worker)
        self.row(f"{int(result['count'])} pending sign-ups: worker RSS peak (idle {idle:.0f} MB)",
                 f"{result['rss_peak_mb']:.0f} MB", "", "< 300 MB " + ok(result["rss_peak_mb"] < 300))
        self.row(f"  started at {result['start_rate']:.0f}/s, TTL {ttl} s: expiry late p50 / p99 / max",
                 f"{result['lag_p50_s']:.1f} / {result['lag_p99_s']:.1f} / {result['lag_max_s']:.1f} s", "",
                 "< 60 s " + ok(result["lag_max_s"] < 60))

    def write_report(self) -> None:
        m = procs.machine()
        command = "make bench BENCH_ARGS=" + shlex.quote(" ".join(sys.argv[1:])) if sys.argv[1:] else "make bench"
        lines = [
            "# Performance",
            "",
            "Written by `make bench` (bench/run.py); do not edit by hand — re-run it.",
            "",
            f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC}",
            f"- command: `{command}`",
            f"- machine: {m['nproc']} × {m['cpu']}, {m['memory']} RAM, load average at the end {m['load']}",
            f"- ЛКК: {self.args.api_workers} uvicorn worker(s), 1 Temporal worker process, durable Temporal dev"
            " server (SQLite file), SQLite app DB, dev SMTP sink; fastapi-users: "
            f"{self.args.peer_workers} uvicorn worker(s); the load generator too: all on this machine",
            "",
            "| figure | value | compared | target |",
            "| --- | --- | --- | --- |",
        ]
        lines += [f"| {f} | {v} | {c} | {t} |" for f, v, c, t in self.rows]
        lines += ["", Path(procs.ROOT / "bench" / "METHOD.md").read_text().strip(), ""]
        out = procs.ROOT / self.args.out
        out.write_text("\n".join(lines), encoding="utf-8")
        print(f"\nwritten {out}")


def ok(flag: bool) -> str:
    return "✅" if flag else "❌"


def ensure_peer_venv() -> str:
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / ".installed"
    if not stamp.exists() or stamp.read_text() != PEER_REQUIREMENTS.read_text():
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", str(PEER_REQUIREMENTS)], check=True)
        stamp.write_text(PEER_REQUIREMENTS.read_text())
    return str(python)


def main() -> None:
    args = parse_args(sys.argv[1:])
    asyncio.run(Bench(args).main())


if __name__ == "__main__":
    main()
