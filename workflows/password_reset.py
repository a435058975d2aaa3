"""Password recovery of one account («Забыли пароль?» → «Сбросить пароль»).

Started (or joined) by the API with signal-with-start when a login + e-mail pair
matches; the id is per account, so repeated submits are signals to the running
recovery, not new ones. The first request sends an e-mail with a one-time password
at once; later ones are honoured after a cooldown, up to a maximum, each replacing
the previous password. The run ends when the password is used or expires; an
expired one is then cleared from the account.

SMTP trouble is retried (like the onboarding's MAIL_RETRY): a mail server that is
down delays the e-mail, it does not lose it. The password itself is made, hashed
and mailed inside the activity, so it never appears in this history.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.password import PasswordActivities
    from workflows.errors import MailRejectedError
    from workflows.messages import (
        ExpirePasswordResetInput,
        OneTimePasswordUsed,
        PasswordResetInput,
        PasswordResetRequested,
        PasswordResetResult,
        PasswordResetState,
        SendPasswordResetInput,
    )
    from workflows.onboarding import DB_RETRY, MAIL_RETRY
    from workflows.timeline import Event, Kind, event_list, reset_label, reset_mail_problem

# The API starts a recovery with signal-with-start, which takes the signal by name.
REQUEST_SIGNAL = "password_reset_requested"
# A run started without its start signal (by hand) waits this long, then ends.
FIRST_REQUEST_WAIT = timedelta(minutes=1)


@workflow.defn(name="PasswordReset")
class PasswordResetWorkflow:
    @workflow.init
    def __init__(self, params: PasswordResetInput) -> None:
        self._params = params
        self._requests = 0
        self._handled = 0
        self._emails_sent = 0
        self._last_send_at: datetime | None = None
        self._expires_at: datetime | None = None
        self._used = False
        self._mail_problem: str | None = None
        self._events: list[Event] = []

    @workflow.run
    async def run(self, params: PasswordResetInput) -> PasswordResetResult:
        try:
            await workflow.wait_condition(lambda: self._requests > 0, timeout=FIRST_REQUEST_WAIT)
        except asyncio.TimeoutError:
            return self._result()
        while not self._used:
            if self._handled < self._requests:
                self._handled = self._requests
                if self._may_send():
                    await self._send()
                else:
                    self._log(Kind.RESET_SKIPPED)
                continue
            if self._expires_at is None:
                break  # nothing valid was mailed (account gone or mail rejected)
            remaining = self._expires_at - workflow.now()
            if remaining <= timedelta(0):
                break
            try:
                await workflow.wait_condition(
                    lambda: self._used or self._handled < self._requests,
                    timeout=remaining,
                    timeout_summary="срок действия пароля из письма",
                )
            except asyncio.TimeoutError:
                break
        if not self._used and self._expires_at is not None:
            await workflow.execute_activity_method(
                PasswordActivities.expire_password_reset,
                ExpirePasswordResetInput(account_id=params.account_id),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=DB_RETRY,
                summary="Удаление просроченного пароля из письма",
            )
            self._log(Kind.RESET_EXPIRED)
        return self._result()

    def _may_send(self) -> bool:
        if self._emails_sent >= self._params.max_emails:
            return False
        if self._last_send_at is None:
            return True
        return workflow.now() - self._last_send_at >= timedelta(seconds=self._params.resend_cooldown_seconds)

    async def _send(self) -> None:
        seq = self._emails_sent
        self._last_send_at = workflow.now()
        try:
            result = await workflow.execute_activity_method(
                PasswordActivities.send_password_reset_email,
                SendPasswordResetInput(
                    account_id=self._params.account_id, seq=seq, otp_ttl_seconds=self._params.otp_ttl_seconds
                ),
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=timedelta(seconds=self._params.mail_retry_seconds),
                retry_policy=MAIL_RETRY,
                summary=reset_label(seq),
            )
        except ActivityError as err:
            self._mail_problem = reset_mail_problem(MailRejectedError.matches(err.cause))
            self._log(Kind.RESET_FAILED, seq=seq, problem=self._mail_problem)
            return
        if result.sent:
            self._emails_sent += 1
            self._expires_at = result.expires_at
            self._mail_problem = None
            self._log(Kind.RESET_SENT, seq=seq)
        else:
            self._log(Kind.RESET_ACCOUNT_INACTIVE, seq=seq)

    @workflow.signal(name=REQUEST_SIGNAL)
    def requested(self, _signal: PasswordResetRequested) -> None:
        self._requests += 1

    @workflow.signal(name="one_time_password_used")
    def used(self, signal: OneTimePasswordUsed) -> None:
        if not self._used:
            self._used = True
            self._log(Kind.RESET_USED, at=signal.used_at)

    @workflow.query(name="state")
    def state(self) -> PasswordResetState:
        return PasswordResetState(
            emails_sent=self._emails_sent, requests=self._requests, expires_at=self._expires_at, used=self._used
        )

    def _log(self, kind: Kind, **data: Any) -> None:
        """Record an event for support's timeline; ``at`` is now in workflow time unless given."""
        data.setdefault("at", workflow.now())
        self._events.append(Event(kind, **data))
        workflow.set_current_details(event_list(self._events))

    def _result(self) -> PasswordResetResult:
        return PasswordResetResult(
            emails_sent=self._emails_sent, requests=self._requests, used=self._used, mail_problem=self._mail_problem
        )
