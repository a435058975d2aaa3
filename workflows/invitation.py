"""One invitation of a colleague to an administrator's contracts, from the letter to
granted access (or to its end: revoked, expired, undeliverable).

The API creates the invitation in the database (and its audit rows), then starts this
run with ids, numbers and durations only. The run mails the letter (a new link per
letter, made inside the activity), then waits for the colleague's ``accept``, an
administrator's ``revoke`` or ``resend`` (updates, so the page shows the real outcome at
once), the ``withdrawn`` signal (its last contract was unbound) or its expiry.

The database is the arbiter of the invitation row: accept and every close are ONE
conditional UPDATE each, so accept, revoke and expiry arriving together end with
exactly one of them, and the workflow follows what the database answered (a revoke
that lost to an accept records «уже принято», and the run ends accepted). After an
accept the inviting administrator gets a «приглашение принято» letter; its failure is
shown in the details, never fatal.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.invitations import InvitationActivities
    from workflows.errors import InvitationNotPending, mail_rejection
    from workflows.messages import (
        AcceptInvitationRequest,
        AcceptInvitationResult,
        CloseInvitationInput,
        CloseInvitationResult,
        GrantInvitationInput,
        InvitationInput,
        InvitationRef,
        InvitationResendAccepted,
        InvitationResult,
        InvitationStage,
        InvitationState,
        InvitationWithdrawn,
        ResendInvitationRequest,
        RevokeInvitationRequest,
        RevokeInvitationResult,
        SendInvitationInput,
    )
    from workflows.onboarding import DB_RETRY, MAIL_RETRY
    from workflows.resend_rule import ResendTracking
    from workflows.staged import StagedTimeline
    from workflows.timeline import (
        WITHIN_A_DAY,
        WITHIN_INVITATION,
        Event,
        Kind,
        invitation_details,
        invitation_label,
        mail_problem,
    )

# The database's ``InvitationStatus`` values (lkk.company.models, which workflows cannot import).
STAGE_OF_STATUS: dict[str, InvitationStage] = {
    "pending": InvitationStage.PENDING,
    "accepted": InvitationStage.ACCEPTED,
    "revoked": InvitationStage.REVOKED,
    "expired": InvitationStage.EXPIRED,
    "undeliverable": InvitationStage.UNDELIVERABLE,
}
# An update waits for its activity while the administrator or the colleague looks at the page.
UPDATE_ACTIVITY_TIMEOUT = timedelta(seconds=60)


@workflow.defn(name="Invitation")
class InvitationWorkflow(StagedTimeline[InvitationStage], ResendTracking):
    @workflow.init
    def __init__(self, params: InvitationInput) -> None:
        self._params = params
        self._stage = InvitationStage.PENDING
        self._expires_at = workflow.now() + timedelta(seconds=params.ttl_seconds)
        self._emails_sent = 0
        self._sends_requested = 1  # the first letter
        self._resent_by: dict[int, ResendInvitationRequest] = {}  # seq → who asked for it
        self._last_email_sent_at: datetime | None = None
        self._last_resend_requested_at: datetime | None = None
        self._mail_problem: str | None = None
        self._accepted_login: str | None = None
        self._events: list[Event] = []

    # --- main line ------------------------------------------------------------

    @workflow.run
    async def run(self, params: InvitationInput) -> InvitationResult:
        self._log(
            Kind.INVITATION_STARTED, until=self._expires_at, login=params.inviter_login,
            numbers=tuple(params.contract_numbers),
        )
        seq_sent = -1
        while self._stage is InvitationStage.PENDING:
            if seq_sent + 1 < self._sends_requested:
                seq_sent += 1
                if await self._send(seq_sent) is not None:
                    # Refused for good: nobody can accept; the database decides (an earlier link may have won).
                    self._follow(await self._close("undeliverable", "Закрытие приглашения: письмо не доставляется"))
                continue
            try:
                await workflow.wait_condition(
                    lambda: self._stage is not InvitationStage.PENDING or seq_sent + 1 < self._sends_requested,
                    timeout=max(self._expires_at - workflow.now(), timedelta(0)),
                    timeout_summary="срок действия приглашения",
                )
            except asyncio.TimeoutError:
                self._follow(await self._close("expired", "Закрытие просроченного приглашения"))
        # Updates still running answer their callers first (e.g. a revoke that lost to an accept).
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._stage is InvitationStage.ACCEPTED:
            await self._notify_inviter()
        return InvitationResult(
            stage=self._stage,
            emails_sent=self._emails_sent,
            finished_at=workflow.now(),
            accepted_login=self._accepted_login,
        )

    async def _send(self, seq: int) -> str | None:
        """Send letter ``seq``; returns the server's reason when it refused the letter for good."""
        remaining = self._expires_at - workflow.now()
        if remaining <= timedelta(0):
            return None
        asked = self._resent_by.get(seq)
        try:
            result = await workflow.execute_activity_method(
                InvitationActivities.send_invitation_letter,
                SendInvitationInput(
                    invitation_id=self._params.invitation_id,
                    seq=seq,
                    resent_by_account_id=asked.actor_account_id if asked else None,
                    resent_by_login=asked.actor_login if asked else None,
                ),
                start_to_close_timeout=timedelta(seconds=60),
                # SMTP trouble is retried while the link could still be used.
                schedule_to_close_timeout=remaining,
                retry_policy=MAIL_RETRY,
                summary=invitation_label(seq),
            )
        except ActivityError as err:
            rejection = mail_rejection(err)
            self._mail_problem = mail_problem(rejection, WITHIN_INVITATION)
            self._log(Kind.INVITATION_FAILED, seq=seq, problem=self._mail_problem)
            return rejection
        if result.sent:
            self._emails_sent += 1
            self._last_email_sent_at = workflow.now()  # workflow time: the cooldown is computed in it
            self._mail_problem = None
            self._log(Kind.INVITATION_SENT, seq=seq)
        else:
            self._log(Kind.INVITATION_NOT_SENT, seq=seq)
        return None

    async def _close(
        self, status: str, summary: str, actor: RevokeInvitationRequest | None = None
    ) -> CloseInvitationResult:
        return await workflow.execute_activity_method(
            InvitationActivities.close_invitation,
            CloseInvitationInput(
                invitation_id=self._params.invitation_id,
                status=status,
                actor_account_id=actor.actor_account_id if actor else None,
                actor_login=actor.actor_login if actor else None,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            # The run's own closes (expiry, undeliverable) wait out a database outage;
            # an administrator's revoke answers within the page's patience.
            schedule_to_close_timeout=UPDATE_ACTIVITY_TIMEOUT if actor else None,
            retry_policy=DB_RETRY,
            summary=summary,
        )

    def _follow(self, result: CloseInvitationResult) -> None:
        """The database answered a close the run made itself (expiry, undeliverable)."""
        stage = STAGE_OF_STATUS[result.status]
        if self._stage is not InvitationStage.PENDING:
            return  # an update's answer got here first; it logged the outcome
        if result.closed:
            self._log(Kind.INVITATION_EXPIRED if stage is InvitationStage.EXPIRED else Kind.INVITATION_UNDELIVERABLE)
        elif stage is not InvitationStage.PENDING:
            self._log(Kind.INVITATION_FOUND, stage=stage)
        self._enter(stage)

    async def _notify_inviter(self) -> None:
        try:
            result = await workflow.execute_activity_method(
                InvitationActivities.notify_inviter,
                InvitationRef(invitation_id=self._params.invitation_id),
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=timedelta(days=1),  # a day of SMTP trouble: give up, access stays granted
                retry_policy=MAIL_RETRY,
                summary="Письмо администратору «Приглашение принято»",
            )
        except ActivityError as err:
            self._log(Kind.INVITER_NOTICE_FAILED, problem=mail_problem(mail_rejection(err), WITHIN_A_DAY))
            return
        self._log(Kind.INVITER_NOTIFIED if result.sent else Kind.INVITER_NOT_NOTIFIED)

    # --- messages -------------------------------------------------------------

    @workflow.update(name="accept")
    async def accept(self, request: AcceptInvitationRequest) -> AcceptInvitationResult:
        result = await workflow.execute_activity_method(
            InvitationActivities.grant_invitation,
            GrantInvitationInput(invitation_id=self._params.invitation_id, account_id=request.account_id),
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=UPDATE_ACTIVITY_TIMEOUT,
            retry_policy=DB_RETRY,
            summary="Выдача доступа по приглашению",
        )
        if result.accepted:
            self._accepted_login = request.login
            self._log(Kind.INVITATION_ACCEPTED, login=request.login, numbers=tuple(result.contract_numbers))
            self._enter(InvitationStage.ACCEPTED)
        else:
            stage = STAGE_OF_STATUS[result.status]
            self._log(Kind.ACCEPT_TOO_LATE, login=request.login, stage=stage)
            if stage is not InvitationStage.EXPIRED:
                # "Expired" may mean "past its time, still pending": only the run's own
                # expiry closes it (and writes the audit row), so the timer decides that one.
                self._settle(stage)
        return result

    @accept.validator
    def _validate_accept(self, _request: AcceptInvitationRequest) -> None:
        self._require_pending()

    @workflow.update(name="revoke")
    async def revoke(self, request: RevokeInvitationRequest) -> RevokeInvitationResult:
        result = await self._close("revoked", "Отзыв приглашения администратором", actor=request)
        stage = STAGE_OF_STATUS[result.status]
        if result.closed:
            self._log(Kind.INVITATION_REVOKED, login=request.actor_login)
        else:
            self._log(Kind.REVOKE_TOO_LATE, login=request.actor_login, stage=stage)
        self._settle(stage)
        return RevokeInvitationResult(revoked=result.closed, status=result.status)

    @revoke.validator
    def _validate_revoke(self, _request: RevokeInvitationRequest) -> None:
        self._require_pending()

    @workflow.update(name="resend")
    def resend(self, request: ResendInvitationRequest) -> InvitationResendAccepted:
        self._resent_by[self._sends_requested] = request  # the seq the main line sends next for it
        self._sends_requested += 1
        self._last_resend_requested_at = workflow.now()
        self._log(Kind.INVITATION_RESEND_REQUESTED, login=request.actor_login)
        return InvitationResendAccepted(
            emails_sent=self._emails_sent, resends_left=self._resends_left(), next_resend_at=self._next_resend_at()
        )

    @resend.validator
    def _validate_resend(self, _request: ResendInvitationRequest) -> None:
        self._require_pending()
        self._check_resend()

    @workflow.signal(name="withdrawn")
    def withdrawn(self, signal: InvitationWithdrawn) -> None:
        # The unbinding already revoked it in the database, in the same transaction.
        if self._stage is InvitationStage.PENDING:
            self._log(Kind.INVITATION_WITHDRAWN, at=signal.withdrawn_at)
            self._enter(InvitationStage.REVOKED)

    @workflow.query(name="state")
    def state(self) -> InvitationState:
        pending = self._stage is InvitationStage.PENDING
        return InvitationState(
            stage=self._stage,
            emails_sent=self._emails_sent,
            resends_left=self._resends_left(),
            next_resend_at=self._next_resend_at() if pending else None,
            expires_at=self._expires_at,
            mail_problem=self._mail_problem,
        )

    # --- helpers --------------------------------------------------------------

    def _require_pending(self) -> None:
        if self._stage is not InvitationStage.PENDING:
            raise InvitationNotPending(self._stage.value)

    def _settle(self, stage: InvitationStage) -> None:
        """Follow what the database answered an update (a pending row past its expiry stays
        pending here: the expiry timer closes it)."""
        if self._stage is InvitationStage.PENDING and stage is not InvitationStage.PENDING:
            self._enter(stage)

    def _details(self) -> str:
        return invitation_details(self._stage, self._events, self._params)

