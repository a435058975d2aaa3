"""Constants shared by the billing tests (the sample export's facts, a fixed clock)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
SAMPLE_JSON = DATA_DIR / "billing-sample.json"
SAMPLE_CSV = DATA_DIR / "billing-sample.csv"
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

# Real argon2id, at a test-sized cost so that lockout and race tests stay quick.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

# The sample file's contracts (see data/billing-sample.json).
OPEN_LEGAL = ("7701-000101", "0001473828", "000101001")
OPEN_ENTREPRENEUR = ("7701-000103", "000173615803", None)
CLOSED_LEGAL = ("7701-000105", "0001833453", "000101001")
