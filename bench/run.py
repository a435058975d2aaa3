"""`make bench`: the service's figures against their limits and a peer, in one run.

    .venv/bin/python -m bench.run [--duration 20] [--repeats 3] [--users 16]
        [--pending-curve 2500,5000,10000,20000] [--mass-expiry 10000] [--skip-peer]

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
import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from bench import procs, scale
from bench.argon2_limit import cpu_ms_per_verify, verifies_per_second
from bench.baseline import run_baseline
from bench.load import Http, Latencies, MailWatcher, closed_loop, timed
from bench.onboard import PASSWORD, Onboarder
from bench.stats import Spread, ratios
from lkk import schema
from lkk.settings import Settings

SECRET = "bench-secret-key-0123456789abcdef0123456789"
PEER_VENV = procs.ROOT / "var" / "peer-venv"
PEER_REQUIREMENTS = procs.ROOT / "bench" / "peers" / "requirements.txt"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=20.0, help="seconds per run of a throughput phase")
    p.add_argument("--repeats", type=int, default=3, help="runs of each phase; ratios are their median and range")
    p.add_argument("--users", type=int, default=16, help="concurrent clients in closed-loop phases")
    p.add_argument("--pending-curve", type=sizes, default=sizes("2500,5000,10000,20000"),
                   help="pending sign-ups per point of the scaling curve, comma-separated ('' to skip)")
    p.add_argument("--pending-rate-share", type=float, default=0.5,
                   help="their start rate as a share of this run's bare-workflow rate")
    p.add_argument("--pending-rate", type=float, default=0.0, help="a fixed start rate instead (per second)")
    p.add_argument("--mass-expiry", type=int, default=10_000, help="sign-ups of the burst that expires together (0: skip)")
    p.add_argument("--expiry-jitter", type=int, default=None,
                   help="signup_expiry_jitter_seconds for the burst (default: the setting's default)")
    p.add_argument("--api-workers", type=int, default=1,
                   help="ЛКК's uvicorn processes (argon2 runs in a thread pool gated per core: one fills every core)")
    p.add_argument("--peer-workers", type=int, default=os.cpu_count() or 1,
                   help="the peer's uvicorn processes (fastapi-users hashes in the event loop: one per core)")
    p.add_argument("--skip-peer", action="store_true")
    p.add_argument("--out", default="docs/performance.md")
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be at least 1 (3 or more for a spread)")
    return args


def sizes(text: str) -> list[int]:
    return [int(part) for part in text.replace("_", "").split(",") if part.strip()]


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run_id = uuid.uuid4().hex[:6]
        self.workdir = procs.ROOT / "var" / "bench" / self.run_id
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.rows: list[tuple[str, str, str, str]] = []  # (figure, value, vs, target)
        self.defaults = Settings(_env_file=None, environment="development")  # type: ignore[call-arg]
        # Per run of each phase, in order; run i of one phase is paired with run i of its floor.
        self.hash_ms: list[float] = []
        self.verify_ms: list[float] = []
        self.onboard_rates: list[float] = []
        self.onboard_cpu: list[dict[str, float]] = []
        self.bare_rates: list[float] = []
        self.bare_cpu: list[dict[str, float]] = []
        self.mail_p99_at_80: list[float] = []
        self.login_rates: list[float] = []
        self.login_api_ms: list[float] = []
        self.peer_signup_rates: list[float] = []
        self.peer_login_rates: list[float] = []
        self.peer_login_ms: list[float] = []

    def cpu_row(self, figure: str, runs: list[dict[str, float]]) -> None:
        """Where the CPU of one item went, per process (ms, the median over the runs)."""
        names = list(runs[0])
        split = " · ".join(f"{name} {Spread.of([r[name] for r in runs]).median:.1f}" for name in names)
        self.row(figure, Spread.of([sum(r.values()) for r in runs]).show(".1f", " ms"), split)

    def row(self, figure: str, value: str, versus: str = "", target: str = "") -> None:
        self.rows.append((figure, value, versus, target))
        print(f"  {figure:<64} {value:>22}  {versus:<40} {target}", flush=True)

    # --------------------------------------------------------------- ЛКК stack

    def lkk_settings(self, queue: str, **overrides: object) -> dict[str, object]:
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
            **overrides,
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
            limit = self.argon2_phase()
            await self.lkk_phase(limit)
            if not a.skip_peer:
                await self.peer_phase(limit)
            self.target_rows()
            if a.pending_curve:
                await scale.pending_curve(self)
            if a.mass_expiry > 0:
                await scale.mass_expiry(self)
        finally:
            procs.stop(sink)
            procs.stop(server)
        self.write_report()

    def argon2_phase(self) -> float:
        s = self.defaults
        params = (s.argon2_memory_kib, s.argon2_time_cost, s.argon2_parallelism)
        seconds = max(3.0, self.args.duration / 4)
        rate = verifies_per_second(*params, seconds)
        self.row(f"argon2id limit (m={s.argon2_memory_kib} KiB, t={s.argon2_time_cost}, p={s.argon2_parallelism}), all cores",
                 f"{rate:.1f} /s")
        # The floors' argon2 part, once per run: as many at once as the app's gate lets through.
        cores = os.cpu_count() or 1
        short = max(2.0, self.args.duration / 8)
        for _ in range(self.args.repeats):
            self.hash_ms.append(cpu_ms_per_verify(*params, cores, short, hashing=True))
            self.verify_ms.append(cpu_ms_per_verify(*params, cores, short))
        burst = cpu_ms_per_verify(*params, 16, short)
        self.row(f"  CPU per hash / per verification, {cores} at once (the gate)",
                 f"{Spread.of(self.hash_ms).show('.1f')} / {Spread.of(self.verify_ms).show('.1f')} ms")
        self.row("  CPU per verification, 16 at once (no gate)", f"{burst:.1f} ms")
        return rate

    async def lkk_phase(self, limit: float) -> None:
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
            async with Http(f"http://127.0.0.1:{api_port}") as http:
                onboard = Onboarder(http, self.sink_url, f"b{self.run_id}", lat, confirmed)
                await onboard.loop(4, 2.0, "warm")
                # Run i of the onboardings, then run i of the bare workflow: each ratio's
                # floor is measured right beside it. The mail watcher (in this process) only
                # runs during the onboardings, so it is not counted as the bare client's CPU.
                for i in range(a.repeats):
                    meter = procs.CpuMeter("load generator", **{"Temporal server": self.server_pid,
                                                                "worker": worker.pid, "API": api.pid,
                                                                "mail sink": self.sink_pid})
                    done, wall = await onboard.loop(a.users, a.duration, "max")
                    self.onboard_rates.append(done / wall)
                    self.onboard_cpu.append(meter.per_item_ms(done))
                    meter = procs.CpuMeter("client and worker", **{"Temporal server": self.server_pid})
                    done, wall = await run_baseline(self.address, a.users, a.duration)
                    self.bare_rates.append(done / wall)
                    self.bare_cpu.append(meter.per_item_ms(done))
                self.row("ЛКК complete onboardings/s (register→mail→confirm→active)",
                         Spread.of(self.onboard_rates).show(".1f", " /s"))
                self.cpu_row("  CPU per onboarding at max rate", self.onboard_cpu)
                for call in ("register", "confirm"):
                    self.row(f"  {call} p50 / p99 at max rate (all runs)",
                             f"{lat.median('max:' + call):.0f} / {lat.pct('max:' + call, .99):.0f} ms")
                self.row("  register → mail in the sink p50 / p99", f"{lat.median('max:mail'):.0f} / {lat.pct('max:mail', .99):.0f} ms")
                self.row("bare Temporal workflow of the same shape, completed/s", Spread.of(self.bare_rates).show(".1f", " /s"))
                self.cpu_row("  CPU per bare workflow", self.bare_cpu)
                self.row("  ЛКК onboardings / bare workflows (rates)", ratios(self.onboard_rates, self.bare_rates).show(".2f", "×"))
                # 80 % of the (median) maximum, open loop: are registration and its letter still fast?
                rate80 = 0.8 * Spread.of(self.onboard_rates).median
                started = finished = 0
                register_p99: list[float] = []
                for i in range(a.repeats):
                    done, n, _ = await onboard.open(rate80, a.duration, f"p80-{i}")
                    finished, started = finished + done, started + n
                    register_p99.append(lat.pct(f"p80-{i}:register", .99))
                    self.mail_p99_at_80.append(lat.pct(f"p80-{i}:mail", .99))
                self.row(f"  at 80 % of max ({rate80:.1f}/s): register p99", Spread.of(register_p99).show(".0f", " ms"))
                self.row("  at 80 % of max: completed / started", f"{finished} / {started}")
                # Every confirmation reached its workflow (it now waits for a contract binding).
                waiting = f"TaskQueue = '{queue}' AND LkkStage = 'awaiting_email'"
                for _ in range(20):
                    if (unconfirmed := (await client.count_workflows(waiting)).count) == 0:
                        break
                    await asyncio.sleep(0.5)
                self.row("  confirmed onboardings whose workflow missed the confirmation", str(unconfirmed), "",
                         "0 " + ok(unconfirmed == 0))
                await self.login_phase(http, confirmed, limit, api.pid)
        finally:
            procs.stop(api)
            procs.stop(worker)

    async def login_phase(self, http: Http, accounts: list[str], limit: float, api_pid: int) -> None:
        a = self.args

        async def one(n: int) -> bool:
            login = accounts[n % len(accounts)]
            r = await http.post("/api/v1/session", json={"login": login, "password": PASSWORD})
            if r.status_code != 200:
                print("login failed", r.status_code, r.text[:200], file=sys.stderr)
            return r.status_code == 200

        await closed_loop(4, 2.0, one)
        cpu: list[dict[str, float]] = []
        for _ in range(a.repeats):
            meter = procs.CpuMeter("load generator", API=api_pid)
            done, wall = await closed_loop(a.users, a.duration, one)
            self.login_rates.append(done / wall)
            cpu.append(meter.per_item_ms(done))
        self.login_api_ms = [c["API"] for c in cpu]
        rates = Spread.of(self.login_rates)
        self.row("ЛКК logins/s via HTTP", rates.show(".1f", " /s"), f"{rates.median / limit:.0%} of the argon2 limit")
        self.cpu_row("  CPU per login", cpu)

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
            async with Http(f"http://127.0.0.1:{port}") as http:
                async with MailWatcher(self.sink_url) as mails:

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
                    for i in range(a.repeats):
                        done, wall = await closed_loop(a.users, a.duration, lambda n, i=i: signup(n + 1_000_000 * i))
                        self.peer_signup_rates.append(done / wall)
                self.row("fastapi-users sign-up→verified/s (not durable)", Spread.of(self.peer_signup_rates).show(".1f", " /s"))
                self.row("  fastapi-users register p50 / p99", f"{lat.median('register'):.0f} / {lat.pct('register', .99):.0f} ms")

                async def login(n: int) -> bool:
                    r = await http.post("/auth/login", data={"username": verified[n % len(verified)], "password": PASSWORD})
                    return r.status_code == 204

                await closed_loop(4, 2.0, login)
                cpu: list[dict[str, float]] = []
                for _ in range(a.repeats):
                    meter = procs.CpuMeter("load generator", **{"fastapi-users": peer.pid})
                    done, wall = await closed_loop(a.users, a.duration, login)
                    self.peer_login_rates.append(done / wall)
                    cpu.append(meter.per_item_ms(done))
                self.peer_login_ms = [c["fastapi-users"] for c in cpu]
                rates = Spread.of(self.peer_login_rates)
                self.row("fastapi-users logins/s via HTTP", rates.show(".1f", " /s"), f"{rates.median / limit:.0%} of the argon2 limit")
                self.cpu_row("  CPU per fastapi-users login", cpu)
        finally:
            procs.stop(peer)

    # ------------------------------------------------------------- the targets

    def target_rows(self) -> None:
        """Issue 15's table: each ratio the median of its runs (range in brackets), run i
        over its floor or peer of run i; the verdict goes by the median."""
        print("\ntargets (median of the runs, range in brackets):", flush=True)
        product = [c["API"] + c["worker"] + c["Temporal server"] for c in self.onboard_cpu]
        floor = [h + sum(c.values()) for h, c in zip(self.hash_ms, self.bare_cpu, strict=True)]
        r = ratios(product, floor)
        self.row("product CPU per onboarding (API + worker + Temporal server) ÷ floor", r.show(".2f", "×"),
                 f"{Spread.of(product).median:.1f} / {Spread.of(floor).median:.1f} ms; floor = argon2id hash + bare "
                 "workflow (server + client + worker)", "≤ 1.2× " + ok(r.median <= 1.2))
        r = ratios([c["worker"] for c in self.onboard_cpu], [c["client and worker"] for c in self.bare_cpu])
        self.row("worker CPU per onboarding ÷ bare workflow's client + worker", r.show(".2f", "×"),
                 f"{Spread.of([c['worker'] for c in self.onboard_cpu]).median:.1f} / "
                 f"{Spread.of([c['client and worker'] for c in self.bare_cpu]).median:.1f} ms", "≤ 1.0× " + ok(r.median <= 1.0))
        r = ratios([c["Temporal server"] for c in self.onboard_cpu], [c["Temporal server"] for c in self.bare_cpu])
        self.row("Temporal server CPU per onboarding ÷ bare workflow's", r.show(".2f", "×"),
                 f"{Spread.of([c['Temporal server'] for c in self.onboard_cpu]).median:.1f} / "
                 f"{Spread.of([c['Temporal server'] for c in self.bare_cpu]).median:.1f} ms", "≤ 0.8× " + ok(r.median <= 0.8))
        beyond = ratios([api - v for api, v in zip(self.login_api_ms, self.verify_ms, strict=True)], self.verify_ms)
        peer = "fastapi-users: skipped"
        if self.peer_login_ms:
            peer_beyond = [p - v for p, v in zip(self.peer_login_ms, self.verify_ms, strict=True)]
            peer = f"fastapi-users {ratios(peer_beyond, self.verify_ms).show('.2f', '×')}"
        self.row("API CPU per login beyond its argon2id verification ÷ that verification", beyond.show(".2f", "×"),
                 f"{Spread.of(self.login_api_ms).median:.1f} ms vs {Spread.of(self.verify_ms).median:.1f} ms; {peer}",
                 "≤ 0.12× " + ok(beyond.median <= 0.12))
        if self.peer_login_rates:
            r = ratios(self.login_rates, self.peer_login_rates)
            self.row("logins/s vs fastapi-users, same run", r.show(".2f", "×"), "verdict by the lowest run",
                     "≥ 1.5× in every run " + ok(r.low >= 1.5))
            r = ratios(self.onboard_rates, self.peer_signup_rates)
            self.row("sign-up → verified vs fastapi-users (not durable), same run", r.show(".2f", "×"), "",
                     "≥ 0.8× " + ok(r.median >= 0.8))
        else:
            self.row("logins/s vs fastapi-users, same run", "n/a", "--skip-peer", "≥ 1.5× –")
            self.row("sign-up → verified vs fastapi-users (not durable), same run", "n/a", "--skip-peer", "≥ 0.8× –")
        p99 = Spread.of(self.mail_p99_at_80)
        self.row("register → letter in the mailbox, p99 at 80 % of the maximum rate", p99.show(".0f", " ms"),
                 "the watcher polls every 50 ms", "< 1 s " + ok(p99.median < 1000))
        print(flush=True)

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
            f"- every phase run {self.args.repeats} × {self.args.duration:g} s; a ratio is the median of its runs,"
            " (min–max) their range",
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
