"""Process-wide logging: one line per event, never a secret (no bodies, no tokens)."""

from __future__ import annotations

import logging

from lkk.settings import get_settings


def configure_logging(level: str | None = None) -> None:
    logging.basicConfig(
        level=(level or get_settings().log_level).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
