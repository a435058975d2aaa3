"""The resend rule of a mailed link (the confirmation e-mail, the invitation letter): at
most ``max_resends`` re-sends, each at least ``cooldown_seconds`` after the latest letter
or request. One place for every workflow that offers «Отправить повторно»; pure
functions of workflow time, safe inside workflow code."""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows.errors import ResendCooldown, ResendLimit


def resends_left(max_resends: int, sends_requested: int) -> int:
    """``sends_requested`` counts the first letter too."""
    return max(max_resends - (sends_requested - 1), 0)


def next_resend_at(cooldown_seconds: int, started_at: datetime, *anchors: datetime | None) -> datetime:
    """The cooldown runs from the latest of the letters and requests (the run's start if none)."""
    latest = max((t for t in anchors if t is not None), default=started_at)
    return latest + timedelta(seconds=cooldown_seconds)


def check_resend(max_resends: int, sends_requested: int, next_at: datetime, now: datetime) -> None:
    """Raise ``ResendLimit`` or ``ResendCooldown`` (the update validators' refusals)."""
    if resends_left(max_resends, sends_requested) <= 0:
        raise ResendLimit()
    wait = (next_at - now).total_seconds()
    if wait > 0:
        raise ResendCooldown(wait)
