"""The ceiling of password logins: argon2id verifications per second on every core, no web stack."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from argon2 import PasswordHasher


def _verify_for(args: tuple[int, int, int, float]) -> int:
    memory_kib, time_cost, parallelism, seconds = args
    hasher = PasswordHasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=parallelism)
    stored = hasher.hash("зимний-вечер-2026")
    deadline = time.monotonic() + seconds
    count = 0
    while time.monotonic() < deadline:
        hasher.verify(stored, "зимний-вечер-2026")
        count += 1
    return count


def verifies_per_second(memory_kib: int, time_cost: int, parallelism: int, seconds: float) -> float:
    procs = os.cpu_count() or 1
    with ProcessPoolExecutor(procs) as pool:
        counts = list(pool.map(_verify_for, [(memory_kib, time_cost, parallelism, seconds)] * procs))
    return sum(counts) / seconds


def cpu_ms_per_verify(memory_kib: int, time_cost: int, parallelism: int, threads: int, seconds: float,
                      *, hashing: bool = False) -> float:
    """CPU time of one verification (or, with ``hashing``, one new hash: what a sign-up
    pays) when ``threads`` threads run at once in this process (argon2-cffi releases the
    GIL): at the gate's concurrency, the floor of a login or a sign-up; at 16, what an
    ungated thread pool pays under a burst."""
    hasher = PasswordHasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=parallelism)
    stored = hasher.hash("зимний-вечер-2026")
    deadline = time.monotonic() + seconds
    counts = [0] * threads

    def loop(slot: int) -> None:
        while time.monotonic() < deadline:
            if hashing:
                hasher.hash("зимний-вечер-2026")
            else:
                hasher.verify(stored, "зимний-вечер-2026")
            counts[slot] += 1

    cpu0 = time.process_time()
    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return (time.process_time() - cpu0) * 1000 / max(sum(counts), 1)
