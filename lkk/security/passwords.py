"""Password hashing with argon2id at the configured (OWASP) parameters.

Every hash and verification passes a per-process gate of ``argon2_max_concurrent``
slots (default: one per core). argon2id is memory-hard (19 MiB each): without a gate,
a burst of logins runs one computation per thread-pool thread at once, which multiplies
the memory and makes the cores thrash between hashes (about 15 % more CPU per
verification with 16 at once on 2 cores, measured by bench/argon2_limit.py's loop).
"""

from __future__ import annotations

import os
import secrets
import threading
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from lkk.settings import Settings


@lru_cache(maxsize=4)
def _hasher(memory_kib: int, time_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=parallelism)


def hasher_for(settings: Settings) -> PasswordHasher:
    return _hasher(settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism)


@lru_cache(maxsize=4)
def _gate(slots: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(slots)


def gate_for(settings: Settings) -> threading.BoundedSemaphore:
    """The process-wide slots for argon2 work (one semaphore per configured size)."""
    return _gate(settings.argon2_max_concurrent or os.cpu_count() or 1)


def hash_password(settings: Settings, password: str) -> str:
    with gate_for(settings):
        return hasher_for(settings).hash(password)


def verify_password(settings: Settings, password_hash: str, password: str) -> bool:
    try:
        with gate_for(settings):
            return hasher_for(settings).verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(settings: Settings, password_hash: str) -> bool:
    return hasher_for(settings).check_needs_rehash(password_hash)


@lru_cache(maxsize=4)
def _dummy_hash(memory_kib: int, time_cost: int, parallelism: int) -> str:
    return _hasher(memory_kib, time_cost, parallelism).hash(secrets.token_urlsafe(16))


def dummy_hash(settings: Settings) -> str:
    """A hash of nothing anyone knows, at the current parameters: verifying against it
    costs what a real check costs, so an unknown login takes as long as a wrong password."""
    return _dummy_hash(settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism)


def verify_or_dummy(settings: Settings, password_hash: str | None, password: str) -> bool:
    """One argon2 verification, always: against the hash, or the dummy when there is none."""
    if password_hash is None:
        verify_password(settings, dummy_hash(settings), password)
        return False
    return verify_password(settings, password_hash, password)
