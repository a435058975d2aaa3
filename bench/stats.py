"""Medians with their spread: every ratio is taken over at least three runs of its phase."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    """The median of repeated measurements and their range (min–max)."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> "Spread":
        return cls(tuple(values))

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def low(self) -> float:
        return min(self.values, default=float("nan"))

    @property
    def high(self) -> float:
        return max(self.values, default=float("nan"))

    def show(self, fmt: str = ".2f", unit: str = "") -> str:
        """``1.23× (1.10–1.31)``: the median, then the range of the runs."""
        if len(self.values) == 1:
            return f"{self.median:{fmt}}{unit}"
        return f"{self.median:{fmt}}{unit} ({self.low:{fmt}}–{self.high:{fmt}})"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile by rank (no interpolation), as the latency rows take it."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> Spread:
    """Run i's figure over run i's floor: each pair measured side by side in one run."""
    return Spread.of([n / d for n, d in zip(numerators, denominators, strict=True) if d])
