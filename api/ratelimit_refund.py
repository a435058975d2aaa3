"""Take back one entry of a moving-window rate limit (the ``limits`` library has no
such call). Used by "failures only" rules, which count every attempt up front (an
atomic hit) and refund the ones that succeeded.

Written against the two storages the cabinet ships: memory (a list of entries per key,
newest first, under a per-key lock) and Redis (a list per key, newest first, LPUSHed by
a Lua script). Both pop the newest entry atomically. Pinned with ``limits`` in
requirements.txt; tests/test_login_burst.py and tests/test_rate_limit_redis.py cover both.
"""

from __future__ import annotations

from typing import Any

from limits.storage import MemoryStorage, RedisStorage, Storage


def refund_entry(storage: Storage, key: str) -> None:
    if isinstance(storage, RedisStorage):
        storage.get_connection().lpop(storage.prefixed_key(key))
        return
    if isinstance(storage, MemoryStorage):
        memory: Any = storage
        with memory.locks[key]:
            entries = memory.events.get(key)
            if entries:
                entries.pop(0)
        return
    raise TypeError(f"refunds are not supported on {type(storage).__name__}")
