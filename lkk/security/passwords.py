"""Password hashing with argon2id at the configured (OWASP) parameters."""

from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from lkk.settings import Settings


@lru_cache(maxsize=4)
def _hasher(memory_kib: int, time_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=parallelism)


def hasher_for(settings: Settings) -> PasswordHasher:
    return _hasher(settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism)


def hash_password(settings: Settings, password: str) -> str:
    return hasher_for(settings).hash(password)


def verify_password(settings: Settings, password_hash: str, password: str) -> bool:
    try:
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
