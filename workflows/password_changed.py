"""Tell the customer by e-mail that their password was changed (recovery or profile).

A workflow rather than a send from the API, so SMTP trouble delays the notice but
never loses it. Its input carries the account id, the reason and the time only.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.password import PasswordActivities
    from workflows.messages import PasswordChangedInput, SendPasswordChangedInput, SendPasswordChangedResult
    from workflows.onboarding import MAIL_RETRY


@workflow.defn(name="PasswordChangedNotice")
class PasswordChangedNoticeWorkflow:
    @workflow.run
    async def run(self, params: PasswordChangedInput) -> SendPasswordChangedResult:
        return await workflow.execute_activity_method(
            PasswordActivities.send_password_changed_email,
            SendPasswordChangedInput(account_id=params.account_id, reason=params.reason, changed_at=params.changed_at),
            start_to_close_timeout=timedelta(seconds=60),
            schedule_to_close_timeout=timedelta(seconds=params.mail_retry_seconds),
            retry_policy=MAIL_RETRY,
            summary="Уведомление «пароль изменён»",
        )
