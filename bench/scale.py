"""How the product scales with waiting sign-ups: the pending curve and the mass expiry.

Both run after the throughput phases, because their rates come from that run's bare
workflow (the machine's own Temporal capacity), not from a fixed number.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.services.registration import signup_ttl
from bench import procs
from bench.load import Http, Latencies
from bench.onboard import PASSWORD, Onboarder
from bench.pending import Created, RssPeak, SignupMaker, db_bytes, lateness, wait_all_closed, wait_until_waiting
from bench.stats import Spread, percentile
from lkk import schema
from lkk.db import make_engine
from lkk.models import Account
from lkk.security.passwords import hash_password

if TYPE_CHECKING:
    from bench.run import Bench

WORKER_RSS_LIMIT_MB = 300
LATENESS_P99_LIMIT_S = 60
FLAT = 0.2  # "flat": the largest point's worker RSS within +20 % of the smallest's


def start_rate(bench: Bench) -> float:
    a = bench.args
    return a.pending_rate or a.pending_rate_share * Spread.of(bench.bare_rates).median


async def pending_curve(bench: Bench) -> None:
    """Each point on a fresh dev server, app DB and worker, so its sizes and memory are its own."""
    rate = start_rate(bench)
    how = f"{rate:.1f}/s" if bench.args.pending_rate else f"{rate:.1f}/s = {bench.args.pending_rate_share:g} × bare"
    print(f"\npending sign-ups, started at {how}:", flush=True)
    peaks: list[float] = []
    for count in bench.args.pending_curve:
        peaks.append(await pending_point(bench, count, rate))
    if len(peaks) > 1:
        growth = peaks[-1] / peaks[0] - 1
        bench.row(f"worker RSS across the curve ({bench.args.pending_curve[0]} → {bench.args.pending_curve[-1]})",
                  f"{peaks[0]:.0f} → {peaks[-1]:.0f} MB ({growth:+.0%})", "",
                  f"flat (≤ +{FLAT:.0%}) and < {WORKER_RSS_LIMIT_MB} MB "
                  + ok(growth <= FLAT and max(peaks) < WORKER_RSS_LIMIT_MB))


async def pending_point(bench: Bench, count: int, rate: float) -> float:
    workdir = bench.workdir / f"pending-{count}"
    workdir.mkdir()
    port = procs.free_port()
    server = procs.temporal_server(workdir, port)
    app_db, temporal_db = workdir / "lkk.db", workdir / "temporal.db"
    url = f"sqlite:///{app_db}"
    schema.upgrade(url)
    engine = make_engine(url)
    queue = f"pending-{count}-{bench.run_id}"
    worker = procs.worker(procs.lkk_env(**bench.lkk_settings(queue, database_url=url, temporal_address=f"127.0.0.1:{port}",
                                                              data_dir=str(workdir))))
    try:
        client = await Client.connect(f"127.0.0.1:{port}", data_converter=pydantic_data_converter)
        await asyncio.sleep(3)  # the worker connects and polls
        rss = RssPeak(worker=worker.pid, server=server.pid)
        idle = dict(rss.peak)
        disk0 = db_bytes(app_db), db_bytes(temporal_db)
        # Long enough for all of them to wait at once before the first expires.
        ttl = int(count / rate) + 30
        maker = SignupMaker(client, engine, queue, hash_password(bench.defaults, PASSWORD), f"p{count}-{bench.run_id}")
        achieved = await maker.at_rate(count, rate, ttl, rss.tick)
        await wait_until_waiting(client, maker.created.last_id, ttl, rss.tick)
        per_signup = [(db_bytes(f) - d0) / count / 1024 for f, d0 in zip((app_db, temporal_db), disk0, strict=True)]
        closed = await wait_all_closed(client, queue, 3 * ttl + 300, rss.tick)
        late = await lateness(client, maker.created)
    finally:
        procs.stop(worker)
        procs.stop(server)
        engine.dispose()
    worker_peak, server_peak = rss.peak["worker"], rss.peak["server"]
    bench.row(f"{count} pending (started at {achieved:.1f}/s, TTL {ttl} s): worker RSS peak (idle {idle['worker']:.0f})",
              f"{worker_peak:.0f} MB", "", f"< {WORKER_RSS_LIMIT_MB} MB " + ok(worker_peak < WORKER_RSS_LIMIT_MB))
    bench.row(f"  Temporal dev server RSS peak (idle {idle['server']:.0f})", f"{server_peak:.0f} MB")
    bench.row("  database per pending sign-up: app DB / Temporal's DB", f"{per_signup[0]:.1f} / {per_signup[1]:.1f} KB",
              "live SQLite pages, idle → all waiting")
    bench.row("  start backlog (first workflow task − start) p50 / p99 / max", late.show("backlog"))
    p99 = percentile(late.late_s, 0.99)
    bench.row("  expiry lateness (close − first task − TTL) p50 / p99 / max", late.show("late"),
              f"{len(late.late_s)} histories" + ("" if closed else "; NOT all closed"),
              f"p99 < {LATENESS_P99_LIMIT_S} s " + ok(closed and p99 < LATENESS_P99_LIMIT_S))
    return worker_peak


async def mass_expiry(bench: Bench) -> None:
    """A burst of sign-ups (a batch import) expiring while the closed-loop onboarding load
    runs: registration p99 during the wave against the same load before the burst."""
    a = bench.args
    count = a.mass_expiry
    jitter = bench.defaults.signup_expiry_jitter_seconds if a.expiry_jitter is None else a.expiry_jitter
    rate = Spread.of(bench.bare_rates).median
    # Their deadlines are first task + TTL: long enough that the backlog of first tasks is
    # worked off (at about the bare rate) and the load has run before the first expires.
    base_ttl = int(1.5 * count / rate) + 30
    settings = bench.defaults.model_copy(update={"signup_ttl_seconds": base_ttl, "signup_expiry_jitter_seconds": jitter})
    queue = f"mass-{bench.run_id}"
    url = f"sqlite:///{bench.workdir}/lkk.db"
    env = procs.lkk_env(**bench.lkk_settings(queue))
    engine = make_engine(url)
    api_port = procs.free_port()
    worker = procs.worker(env)
    api = procs.api(api_port, env, workers=a.api_workers)
    tag = f"m{uuid.uuid4().hex[:5]}"
    print(f"\nmass expiry: {count} sign-ups in one burst, TTL {base_ttl} s + 0..{jitter} s:", flush=True)
    try:
        client = await Client.connect(bench.address, data_converter=pydantic_data_converter)
        lat = Latencies()
        async with Http(f"http://127.0.0.1:{api_port}") as http:
            onboard = Onboarder(http, bench.sink_url, f"e{bench.run_id}", lat, [])
            await onboard.loop(4, 2.0, "warm")
            quiet_p99 = []
            for i in range(a.repeats):
                await onboard.loop(a.users, a.duration, f"quiet-{i}")
                quiet_p99.append(lat.pct(f"quiet-{i}:register", .99))
            maker = SignupMaker(client, engine, queue, hash_password(bench.defaults, PASSWORD), tag)
            t0 = time.monotonic()
            burst_rate = await maker.burst(count, lambda: signup_ttl(settings))
            await wait_until_waiting(client, maker.created.last_id, 3 * base_ttl, lambda: None)
            drained = time.monotonic() - t0  # from the burst's first start
            # The wave: from the first deadline until the burst's rows are all deleted.
            first_due = t0 + base_ttl
            await asyncio.sleep(max(0.0, first_due - time.monotonic()))
            wave_p99: list[float] = []
            wave_start = time.monotonic()
            i = 0
            while await asyncio.to_thread(remaining, engine, tag) > 0 and time.monotonic() - wave_start < 3 * base_ttl + jitter:
                await onboard.loop(a.users, a.duration, f"wave-{i}")
                wave_p99.append(lat.pct(f"wave-{i}:register", .99))
                i += 1
            wave = time.monotonic() - wave_start
            await wait_all_burst_closed(client, maker.created, 120)
            late = await lateness(client, maker.created)
    finally:
        procs.stop(api)
        procs.stop(worker)
        engine.dispose()
    quiet = pooled(lat, "quiet", a.repeats)
    during = pooled(lat, "wave", len(wave_p99))
    ratio = during / quiet if quiet else float("nan")
    bench.row(f"  burst of {count} started at {burst_rate:.0f}/s; their first tasks done after", f"{drained:.0f} s")
    bench.row("  start backlog p50 / p99 / max", late.show("backlog"))
    bench.row("  expiry lateness p50 / p99 / max", late.show("late"), f"{len(late.late_s)} histories")
    bench.row(f"  register p99 without the wave ({a.repeats} × {a.duration:g} s)",
              f"{quiet:.0f} ms", f"runs {Spread.of(quiet_p99).show('.0f')} ms")
    bench.row(f"  register p99 during the expiry wave ({wave:.0f} s, {len(wave_p99)} runs)", f"{during:.0f} ms",
              f"runs {Spread.of(wave_p99).show('.0f')} ms" if wave_p99 else "the wave ended before a run")
    bench.row(f"mass expiry of {count} (jitter {jitter} s): register p99 during the wave ÷ without", f"{ratio:.2f}×", "",
              "≤ 1.5× " + ok(bool(wave_p99) and ratio <= 1.5))


def remaining(engine: object, tag: str) -> int:
    """Rows of the burst not yet deleted by their expiry."""
    with Session(engine) as session:  # type: ignore[arg-type]
        return session.exec(select(func.count()).select_from(Account).where(Account.login_key.like(f"{tag}-%"))).one()


async def wait_all_burst_closed(client: Client, created: Created, timeout: float) -> None:
    """The last burst run's final task may trail its row's delete by a moment."""
    deadline = time.monotonic() + timeout
    handle = client.get_workflow_handle(created.last_id)
    while time.monotonic() < deadline and (await handle.describe()).close_time is None:
        await asyncio.sleep(1.0)


def pooled(lat: Latencies, prefix: str, runs: int) -> float:
    """p99 of every registration of the runs under ``prefix``, pooled (ms)."""
    values = [v for i in range(runs) for v in lat.samples.get(f"{prefix}-{i}:register", [])]
    return percentile(values, 0.99) * 1000 if values else float("nan")


def ok(flag: bool) -> str:
    return "✅" if flag else "❌"
