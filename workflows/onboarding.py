"""The onboarding of one cabinet user, from sign-up to a usable cabinet.

Stages: awaiting e-mail confirmation → awaiting contract binding → onboarded (the
first successful binding). A sign-up that is not confirmed within its time to live
expires: the pending account is deleted, which frees its login and e-mail. A sign-up
ends early as ``superseded`` when another sign-up confirmed the same address first
(the API deleted this one and signals ``signup_superseded``), and as ``undeliverable``
when the confirmation e-mail was refused for good (the activity deletes it): in both
cases the login is free again and support reads why in the run's details. A
confirmed customer who binds nothing gets one reminder e-mail after
``binding_reminder_seconds``; after ``binding_wait_seconds`` the run ends as
``no_contract`` (the account stays active; binding still works through the short
``ContractBinding`` workflow).

Bindings arrive as the ``bind_contract`` update, which carries only the id of a parked
attempt (never the code) and returns the real outcome to the form at once.

The workflow is the single arbiter of this timeline. The database is the arbiter of
the account row: the API activates the account (conditionally, only while it is
pending and not expired) before it signals, and the expiry activity deletes it only
while it is still pending. So whichever of "confirm" and "expire" reaches the
database first wins, and the workflow follows what the database says.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import ContractActivities
    from activities.signup import SignupActivities
    from workflows.contract_binding import execute_bind
    from workflows.errors import (
        AlreadyConfirmed,
        MailRejectedError,
        OnboardingClosed,
        WrongAccount,
        mail_rejection,
    )
    from workflows.messages import (
        AccountRef,
        BindContractRequest,
        BindContractResult,
        BoundContractInfo,
        EmailConfirmed,
        ExpireSignupInput,
        OnboardingInput,
        OnboardingResult,
        OnboardingStage,
        OnboardingState,
        ResendAccepted,
        ResendRequest,
        SendConfirmationInput,
        SignupSuperseded,
    )
    from workflows.resend_rule import ResendTracking
    from workflows.search_attributes import LKK_CONTRACT
    from workflows.staged import StagedTimeline
    from workflows.timeline import WITHIN_A_DAY, Event, Kind, confirmation_label, mail_problem, onboarding_details

# SMTP trouble is retried until the sign-up itself would expire: a mail server that
# is down for an hour delays the e-mail, it never loses the sign-up. A permanent
# rejection (5xx) is not retried; it is shown to support instead.
MAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=[MailRejectedError.TYPE],
)
DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))

# Patch ids (docs/ops.md, "Changing a workflow"): runs recorded before them replay unchanged.
SUPERSEDED_PATCH = "signup-superseded"
UNDELIVERABLE_PATCH = "undeliverable-ends-signup"


@workflow.defn(name="Onboarding")
class OnboardingWorkflow(StagedTimeline[OnboardingStage], ResendTracking):
    @workflow.init
    def __init__(self, params: OnboardingInput) -> None:
        self._params = params
        self._stage = OnboardingStage.AWAITING_EMAIL
        self._signup_expires_at = workflow.now() + timedelta(seconds=params.signup_ttl_seconds)
        self._emails_sent = 0
        self._sends_requested = 1  # the first e-mail
        self._last_email_sent_at: datetime | None = None
        self._last_resend_requested_at: datetime | None = None
        self._confirmed_at: datetime | None = None
        self._mail_problem: str | None = None
        self._superseded_at: datetime | None = None
        self._undeliverable = False  # a confirmation e-mail was refused for good
        self._events: list[Event] = []
        self._contract: BoundContractInfo | None = None  # the first binding
        self._reminders_sent = 0
        self._reminder_sent_at: datetime | None = None
        self._closing = False  # no new bind updates: the run is about to end

    # --- main line ------------------------------------------------------------

    @workflow.run
    async def run(self, params: OnboardingInput) -> OnboardingResult:
        self._log(Kind.SIGNUP_STARTED, until=self._signup_expires_at)
        seq_sent = -1
        while self._confirmed_at is None:
            if self._superseded_at is not None and workflow.patched(SUPERSEDED_PATCH):
                self._log(Kind.SUPERSEDED, at=self._superseded_at)
                return self._finish(OnboardingStage.SUPERSEDED)
            if seq_sent + 1 < self._sends_requested:
                seq_sent += 1
                await self._send_confirmation(seq_sent)
                if self._undeliverable:
                    if await self._drop_undeliverable():
                        return self._finish(OnboardingStage.UNDELIVERABLE)
                    self._confirmed_at = workflow.now()  # confirmed with an earlier link meanwhile
                continue
            remaining = self._signup_expires_at - workflow.now()
            try:
                await workflow.wait_condition(
                    lambda: self._confirmed_at is not None
                    or seq_sent + 1 < self._sends_requested
                    or self._superseded_at is not None,
                    timeout=max(remaining, timedelta(0)),
                    timeout_summary="срок подтверждения e-mail",
                )
            except asyncio.TimeoutError:
                if await self._expire():
                    return self._finish(OnboardingStage.EXPIRED)
                # The API activated the account but its signal never arrived.
                self._confirmed_at = workflow.now()
        self._log(Kind.EMAIL_CONFIRMED, at=self._confirmed_at)
        self._enter(OnboardingStage.AWAITING_CONTRACT)
        return await self._await_contract()

    async def _await_contract(self) -> OnboardingResult:
        since = workflow.now()
        reminder_at = since + timedelta(seconds=self._params.binding_reminder_seconds)
        give_up_at = since + timedelta(seconds=self._params.binding_wait_seconds)
        self._log(Kind.AWAITING_CONTRACT, until=give_up_at)
        if reminder_at < give_up_at and not await self._wait_for_contract(reminder_at, "напоминание о привязке договора"):
            await self._remind()
        if not await self._wait_for_contract(give_up_at, "срок ожидания привязки договора"):
            # Take no new bind updates, let the running ones finish, then ask the database:
            # a binding made on the short path meanwhile still completes onboarding.
            self._closing = True
            await workflow.wait_condition(workflow.all_handlers_finished)
            if self._contract is None:
                self._adopt(await self._find_bound_contract())
        if self._contract is None:
            self._log(Kind.NO_CONTRACT)
            return self._finish(OnboardingStage.NO_CONTRACT)
        # A bind update may still be running (e.g. a second contract): let it answer its caller.
        self._closing = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.upsert_search_attributes([LKK_CONTRACT.value_set(self._contract.contract_number or "")])
        return self._finish(OnboardingStage.ONBOARDED)

    async def _wait_for_contract(self, until: datetime, summary: str) -> bool:
        remaining = until - workflow.now()
        if remaining > timedelta(0):
            try:
                await workflow.wait_condition(lambda: self._contract is not None, timeout=remaining, timeout_summary=summary)
            except asyncio.TimeoutError:
                pass
        return self._contract is not None

    async def _remind(self) -> None:
        try:
            result = await workflow.execute_activity_method(
                ContractActivities.send_binding_reminder,
                AccountRef(account_id=self._params.account_id),
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=timedelta(days=1),  # a day of SMTP trouble: give up, keep waiting
                retry_policy=MAIL_RETRY,
                summary="Напоминание о привязке договора",
            )
        except ActivityError as err:
            self._mail_problem = mail_problem(mail_rejection(err), WITHIN_A_DAY)
            self._log(Kind.REMINDER_FAILED, problem=self._mail_problem)
            return
        if result.already_bound.contract_number is not None:
            self._adopt(result.already_bound)
            return
        if result.sent:
            self._reminders_sent += 1
            self._reminder_sent_at = workflow.now()
            self._log(Kind.REMINDER_SENT)

    def _adopt(self, found: BoundContractInfo) -> None:
        """A binding the workflow did not hear of (e.g. made on the short path while this
        run was closing): the database decides, so it completes onboarding."""
        if self._contract is None and found.contract_number is not None:
            self._contract = found
            self._log(Kind.CONTRACT_FOUND, at=found.bound_at, number=found.contract_number)

    async def _find_bound_contract(self) -> BoundContractInfo:
        return await workflow.execute_activity_method(
            ContractActivities.find_bound_contract,
            AccountRef(account_id=self._params.account_id),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DB_RETRY,
            summary="Проверка привязанных договоров",
        )

    async def _send_confirmation(self, seq: int) -> None:
        remaining = self._signup_expires_at - workflow.now()
        if remaining <= timedelta(0):
            return
        try:
            result = await workflow.execute_activity_method(
                SignupActivities.send_confirmation_email,
                SendConfirmationInput(
                    account_id=self._params.account_id, seq=seq, signup_expires_at=self._signup_expires_at
                ),
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=remaining,
                retry_policy=MAIL_RETRY,
                summary=confirmation_label(seq),
            )
        except ActivityError as err:
            self._mail_problem = mail_problem(mail_rejection(err))
            self._log(Kind.CONFIRMATION_FAILED, seq=seq, problem=self._mail_problem)
            if mail_rejection(err) is not None and workflow.patched(UNDELIVERABLE_PATCH):
                self._undeliverable = True
            return
        if result.sent:
            # Workflow time, not the worker's clock: the cooldown is computed in workflow time.
            self._emails_sent += 1
            self._last_email_sent_at = workflow.now()
            self._mail_problem = None
            self._log(Kind.CONFIRMATION_SENT, seq=seq)

    async def _expire(self) -> bool:
        result = await workflow.execute_activity_method(
            SignupActivities.expire_signup,
            ExpireSignupInput(account_id=self._params.account_id),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DB_RETRY,
            summary="Удаление неподтверждённой регистрации",
        )
        if result.expired:
            self._log(Kind.EXPIRED)
        return result.expired

    async def _drop_undeliverable(self) -> bool:
        """Delete the sign-up whose address cannot receive mail, so the customer can
        register again with a correct one. False: it was confirmed meanwhile (an earlier link)."""
        result = await workflow.execute_activity_method(
            SignupActivities.expire_signup,
            ExpireSignupInput(account_id=self._params.account_id),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DB_RETRY,
            summary="Удаление регистрации: письмо не доставляется",
        )
        if result.expired:
            self._log(Kind.UNDELIVERABLE)
        return result.expired

    # --- messages -------------------------------------------------------------

    @workflow.signal(name="signup_superseded")
    def signup_superseded(self, signal: SignupSuperseded) -> None:
        if self._confirmed_at is None and self._superseded_at is None:
            self._superseded_at = signal.superseded_at

    @workflow.signal(name="email_confirmed")
    def email_confirmed(self, signal: EmailConfirmed) -> None:
        if self._confirmed_at is None:
            self._confirmed_at = signal.confirmed_at

    @workflow.update(name="bind_contract")
    async def bind_contract(self, request: BindContractRequest) -> BindContractResult:
        if self._confirmed_at is None:
            # Only a logged-in, hence active, account can bind: the API activated it but
            # its confirmation signal was lost. The binding is the confirmation.
            self._confirmed_at = workflow.now()
            self._log(Kind.CONFIRMED_BY_BINDING)
        result = await execute_bind(request)
        if result.succeeded and self._contract is None:
            self._contract = BoundContractInfo(contract_number=result.contract_number, bound_at=workflow.now())
        self._log(Kind.BIND_ATTEMPT, status=result.status, number=result.contract_number)
        return result

    @bind_contract.validator
    def _validate_bind(self, request: BindContractRequest) -> None:
        if request.account_id != self._params.account_id:
            raise WrongAccount()
        if self._closing or self._contract is not None or self._stage not in (
            OnboardingStage.AWAITING_EMAIL,
            OnboardingStage.AWAITING_CONTRACT,
        ):
            raise OnboardingClosed()

    @workflow.update(name="request_resend")
    def request_resend(self, _request: ResendRequest) -> ResendAccepted:
        self._sends_requested += 1
        self._last_resend_requested_at = workflow.now()
        self._log(Kind.RESEND_REQUESTED)
        return ResendAccepted(
            emails_sent=self._emails_sent,
            resends_left=self._resends_left(),
            next_resend_at=self._next_resend_at(),
        )

    @request_resend.validator
    def _validate_resend(self, _request: ResendRequest) -> None:
        if self._stage is not OnboardingStage.AWAITING_EMAIL or self._confirmed_at is not None:
            raise AlreadyConfirmed()
        self._check_resend()

    @workflow.query(name="state")
    def state(self) -> OnboardingState:
        return OnboardingState(
            stage=self._stage,
            emails_sent=self._emails_sent,
            resends_left=self._resends_left(),
            last_email_sent_at=self._last_email_sent_at,
            next_resend_at=self._next_resend_at() if self._stage is OnboardingStage.AWAITING_EMAIL else None,
            signup_expires_at=self._signup_expires_at,
            confirmed_at=self._confirmed_at,
            mail_problem=self._mail_problem,
            contract_number=self._contract.contract_number if self._contract else None,
            reminder_sent_at=self._reminder_sent_at,
        )

    # --- helpers --------------------------------------------------------------

    def _details(self) -> str:
        return onboarding_details(self._stage, self._events, self._params)

    def _finish(self, stage: OnboardingStage) -> OnboardingResult:
        if stage is not self._stage:
            self._enter(stage)
        return OnboardingResult(
            stage=stage,
            emails_sent=self._emails_sent,
            confirmed_at=self._confirmed_at,
            finished_at=workflow.now(),
            contract_number=self._contract.contract_number if self._contract else None,
            bound_at=self._contract.bound_at if self._contract else None,
            reminders_sent=self._reminders_sent,
        )

