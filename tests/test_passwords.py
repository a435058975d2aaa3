"""argon2id hashing: real hashes, and the per-process gate that bounds how many run at once."""

from __future__ import annotations

import os
import threading

from lkk.security.passwords import gate_for, hash_password, verify_password
from lkk.settings import Settings

PASSWORD = "зимний-вечер-2026"


def test_hash_verifies_and_rejects(settings: Settings) -> None:
    encoded = hash_password(settings, PASSWORD)
    assert encoded.startswith("$argon2id$")
    assert verify_password(settings, encoded, PASSWORD)
    assert not verify_password(settings, encoded, PASSWORD + "!")
    assert not verify_password(settings, "not a hash", PASSWORD)


def test_a_hash_waits_for_a_free_slot(settings: Settings) -> None:
    """With every slot taken, a verification waits; it runs as soon as one is free."""
    config = settings.model_copy(update={"argon2_max_concurrent": 2})
    encoded = hash_password(config, PASSWORD)
    gate = gate_for(config)
    assert gate is gate_for(config)  # one gate per process and size
    results: list[bool] = []
    for _ in range(2):
        assert gate.acquire(timeout=5)
    waiting = threading.Thread(target=lambda: results.append(verify_password(config, encoded, PASSWORD)))
    try:
        waiting.start()
        waiting.join(timeout=1.0)
        assert waiting.is_alive() and results == []  # both slots are held: it waits
    finally:
        gate.release()
        gate.release()
    waiting.join(timeout=30)
    assert results == [True]


def test_default_gate_has_one_slot_per_core(settings: Settings) -> None:
    gate = gate_for(settings.model_copy(update={"argon2_max_concurrent": 0}))
    cores = os.cpu_count() or 1
    taken = 0
    while gate.acquire(blocking=False):
        taken += 1
    for _ in range(taken):
        gate.release()
    assert taken == cores
