"""The resend rule of a mailed link (the confirmation e-mail, the invitation letter): at
most ``max_resends`` re-sends, each at least ``cooldown_seconds`` after the latest letter
or request. One place for every workflow that offers «Отправить повторно»; pure
functions of workflow time, safe inside workflow code; ``ResendTracking`` applies them to
a workflow's own counters."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from temporalio import workflow

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


class ResendLimits(Protocol):
    """What a workflow's input says of resends (``OnboardingInput``, ``InvitationInput``)."""

    @property
    def max_resends(self) -> int: ...

    @property
    def resend_cooldown_seconds(self) -> int: ...


class ResendTracking:
    """Mixed into a workflow that mails a link and offers «Отправить повторно»: its
    ``__init__`` sets these counters, and the rule above reads them here."""

    _params: ResendLimits
    _sends_requested: int  # the first letter included
    _last_email_sent_at: datetime | None
    _last_resend_requested_at: datetime | None

    def _resends_left(self) -> int:
        return resends_left(self._params.max_resends, self._sends_requested)

    def _next_resend_at(self) -> datetime:
        return next_resend_at(
            self._params.resend_cooldown_seconds,
            workflow.info().start_time,
            self._last_email_sent_at,
            self._last_resend_requested_at,
        )

    def _check_resend(self) -> None:
        """The resend update's validator: raise ``ResendLimit`` or ``ResendCooldown``."""
        check_resend(self._params.max_resends, self._sends_requested, self._next_resend_at(), workflow.now())
