"""Russian, human-readable wording shown to support staff in the Temporal UI.

Pure functions of workflow state, so they are safe inside workflow code.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from lkk.billing.bindings import BindStatus
from workflows.messages import OnboardingStage

# Moscow time has had a fixed offset (UTC+3, no DST) since 2014.
MSK = timezone(timedelta(hours=3), "МСК")

STAGE_TITLES: dict[OnboardingStage, str] = {
    OnboardingStage.AWAITING_EMAIL: "Ожидает подтверждения e-mail",
    OnboardingStage.AWAITING_CONTRACT: "Ожидает привязки договора",
    OnboardingStage.ONBOARDED: "Подключён",
    OnboardingStage.EXPIRED: "Регистрация истекла",
    OnboardingStage.NO_CONTRACT: "Без договора: ожидание привязки завершено",
    OnboardingStage.SUPERSEDED: "Регистрация отменена: адрес e-mail подтверждён другой регистрацией",
    OnboardingStage.UNDELIVERABLE: "Регистрация отменена: письмо на указанный адрес не доставляется",
}

# Short outcome labels for the event log (the customer's wording is in lkk.billing.bindings).
BIND_LABELS: dict[BindStatus, str] = {
    BindStatus.BOUND: "привязан",
    BindStatus.ALREADY_BOUND_TO_YOU: "уже привязан к этому кабинету",
    BindStatus.BOUND_TO_ANOTHER: "привязан к другому кабинету",
    BindStatus.WRONG_DATA: "неверные данные",
    BindStatus.CLOSED: "договор закрыт",
    BindStatus.LOCKED: "попытки заблокированы",
    BindStatus.INVALID: "поля заполнены неверно",
}


# What support tells the customer at each stage (the first thing read in the UI).
STAGE_HINTS: dict[OnboardingStage, str] = {
    OnboardingStage.AWAITING_EMAIL: (
        "Ждём, когда клиент перейдёт по ссылке из письма; ниже видно, ушло ли письмо. Новое письмо — "
        "кнопкой «Отправить письмо ещё раз» на странице «Проверьте почту» (не чаще раза в минуту, до 5 раз)."
    ),
    OnboardingStage.AWAITING_CONTRACT: (
        "E-mail подтверждён: клиент входит в кабинет и привязывает договор "
        "(номер договора и код подтверждения из офиса)."
    ),
    OnboardingStage.ONBOARDED: "Договор привязан, кабинет готов к работе.",
    OnboardingStage.EXPIRED: (
        "Регистрация не подтверждена в срок и удалена; логин и e-mail свободны — "
        "клиент может зарегистрироваться заново."
    ),
    OnboardingStage.SUPERSEDED: (
        "С тем же адресом e-mail была другая регистрация, и её ссылку подтвердили первой: адрес принадлежит ей. "
        "Эта регистрация удалена, её логин свободен. Если адрес принадлежит клиенту, он входит под логином "
        "подтверждённой регистрации или восстанавливает пароль; если нет — регистрируется со своим адресом."
    ),
    OnboardingStage.UNDELIVERABLE: (
        "Почтовый сервер окончательно отказался принять письмо со ссылкой подтверждения (причина — ниже). "
        "Регистрация удалена, логин и адрес свободны: клиент регистрируется заново с правильным адресом "
        "(страница «Проверьте почту» говорит ему об этом)."
    ),
}


def msk(moment: datetime) -> str:
    return moment.astimezone(MSK).strftime("%d.%m.%Y %H:%M МСК")


def details(stage: OnboardingStage, events: list[str]) -> str:
    """Markdown for ``workflow.set_current_details``: the stage, then the log of events."""
    lines = [f"**{STAGE_TITLES[stage]}**", ""]
    if stage in STAGE_HINTS:
        lines += [f"_{STAGE_HINTS[stage]}_", ""]
    lines.extend(f"- {event}" for event in events)
    return "\n".join(lines)


def bind_event(status: BindStatus, number: str | None, at: datetime) -> str:
    if status is BindStatus.BOUND:
        return f"Договор № {number} привязан {msk(at)}"
    return f"Попытка привязки договора № {number or '—'} {msk(at)}: {BIND_LABELS[status]}"
