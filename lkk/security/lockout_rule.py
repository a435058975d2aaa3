"""The one lockout rule shared by login guessing and binding-code guessing: no lock
below a threshold of failures, then a base lock that doubles with each further
failure, up to a cap. A long quiet period forgets the failures."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int = 5  # failures that earn the first lock
    base_seconds: int = 60  # the first lock; each further failure doubles it
    max_seconds: int = 24 * 3600  # the longest lock
    forget_seconds: int = 24 * 3600  # quiet time (after the last failure and lock) that wipes the count

    def lock_seconds(self, failures: int) -> int | None:
        """None below the threshold, then base, 2×base, 4×base, ... up to the maximum."""
        if failures < self.threshold:
            return None
        doublings = min(failures - self.threshold, 32)  # 2**32 minutes exceeds any sane cap
        return min(self.base_seconds * 2**doublings, self.max_seconds)
