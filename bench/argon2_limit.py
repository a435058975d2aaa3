"""The ceiling of password logins: argon2id verifications per second on every core, no web stack."""

from __future__ import annotations

import os
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
