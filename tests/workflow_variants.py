"""Deliberately altered copies of the onboarding workflow, registered under the same
type name ("Onboarding"), for the determinism guard and the bug-fix drill.

They live in their own small module because Temporal's sandbox re-imports the module
that defines a workflow; a test module full of subprocess/HTTP imports would not pass
its validation.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.messages import OnboardingInput, OnboardingResult
    from workflows.onboarding import OnboardingWorkflow


@workflow.defn(name="Onboarding")
class OnboardingWithExtraTimer(OnboardingWorkflow):
    """An incompatible change: a new timer before the first e-mail, without
    ``workflow.patched``. Every recorded run scheduled the e-mail activity first."""

    @workflow.run
    async def run(self, params: OnboardingInput) -> OnboardingResult:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(params)


@workflow.defn(name="Onboarding")
class OnboardingWithPatchedTimer(OnboardingWorkflow):
    """The same change done right: runs recorded before it take the old path."""

    @workflow.run
    async def run(self, params: OnboardingInput) -> OnboardingResult:
        if workflow.patched("extra-timer-before-first-email"):
            await workflow.sleep(timedelta(seconds=1))
        return await super().run(params)


class BuggyCodeError(Exception):
    """Not an ApplicationError: Temporal fails the *workflow task* and retries it, so the
    run is stuck (Running, no progress) rather than failed."""


@workflow.defn(name="Onboarding")
class OnboardingWithBugAfterEmail(OnboardingWorkflow):
    """A release with a bug: the code crashes right after the confirmation e-mail is sent."""

    @workflow.run
    async def run(self, params: OnboardingInput) -> OnboardingResult:
        return await super().run(params)

    async def _send_confirmation(self, seq: int) -> None:
        await super()._send_confirmation(seq)
        raise BuggyCodeError("bug: crashed after sending the confirmation e-mail")
