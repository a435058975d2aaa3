"""Russian, human-readable wording shown to support staff in the Temporal UI.

Pure functions of workflow state, so they are safe inside workflow code.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from workflows.messages import OnboardingStage

# Moscow time has had a fixed offset (UTC+3, no DST) since 2014.
MSK = timezone(timedelta(hours=3), "МСК")

STAGE_TITLES: dict[OnboardingStage, str] = {
    OnboardingStage.AWAITING_EMAIL: "Ожидает подтверждения e-mail",
    OnboardingStage.AWAITING_CONTRACT: "Ожидает привязки договора",
    OnboardingStage.ONBOARDED: "Подключён",
    OnboardingStage.EXPIRED: "Регистрация истекла",
}


def msk(moment: datetime) -> str:
    return moment.astimezone(MSK).strftime("%d.%m.%Y %H:%M МСК")


def details(stage: OnboardingStage, events: list[str]) -> str:
    """Markdown for ``workflow.set_current_details``: the stage, then the log of events."""
    lines = [f"**{STAGE_TITLES[stage]}**", ""]
    lines.extend(f"- {event}" for event in events)
    return "\n".join(lines)
