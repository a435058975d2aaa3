"""Russian, human-readable wording shown to support staff in the Temporal UI: Moscow
time, stage titles and what support tells the customer at each stage.

Pure functions of workflow state, so they are safe inside workflow code. The run's
event log is rendered in ``workflows.timeline``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from workflows.messages import InvitationInput, InvitationStage, OnboardingInput, OnboardingStage

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


# What support tells the customer at each stage (the first thing read in the UI).
STAGE_HINTS: dict[OnboardingStage, str] = {
    OnboardingStage.AWAITING_EMAIL: (
        "Ждём, когда клиент перейдёт по ссылке из письма; ниже видно, ушло ли письмо. Новое письмо — "
        "кнопкой «Отправить письмо ещё раз» на странице «Проверьте почту» (не чаще {once_per}, до {up_to})."
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


def stage_hint(stage: OnboardingStage, params: OnboardingInput) -> str | None:
    """The stage's hint, its limits taken from the run's own input (the settings it started with)."""
    hint = STAGE_HINTS.get(stage)
    if hint is None:
        return None
    return hint.format(once_per=once_per(params.resend_cooldown_seconds), up_to=times_up_to(params.max_resends))


INVITATION_TITLES: dict[InvitationStage, str] = {
    InvitationStage.PENDING: "Приглашение ожидает принятия",
    InvitationStage.ACCEPTED: "Приглашение принято",
    InvitationStage.REVOKED: "Приглашение отозвано",
    InvitationStage.EXPIRED: "Срок приглашения истёк",
    InvitationStage.UNDELIVERABLE: "Приглашение закрыто: письмо на указанный адрес не доставляется",
}

# What support tells the administrator (or the colleague) at each stage of an invitation.
INVITATION_HINTS: dict[InvitationStage, str] = {
    InvitationStage.PENDING: (
        "Ждём, когда приглашённый откроет ссылку из письма и нажмёт «Принять приглашение»; ниже видно, ушло ли "
        "письмо. Новое письмо — кнопкой «Отправить повторно» в разделе «Пользователи кабинета» "
        "(не чаще {once_per}, до {up_to}); ссылка из прежнего письма при этом перестаёт действовать."
    ),
    InvitationStage.ACCEPTED: (
        "Доступ выдан; права меняет или отзывает администратор договора в разделе «Пользователи кабинета»."
    ),
    InvitationStage.REVOKED: (
        "Ссылка больше не действует. Если доступ всё же нужен, администратор договора приглашает пользователя снова."
    ),
    InvitationStage.EXPIRED: (
        "Приглашение не принято в срок, ссылка больше не действует. Администратор договора может пригласить снова."
    ),
    InvitationStage.UNDELIVERABLE: (
        "Почтовый сервер получателя окончательно отказался принять письмо (причина — ниже). Администратор "
        "проверяет адрес и приглашает снова."
    ),
}


def invitation_hint(stage: InvitationStage, params: InvitationInput) -> str:
    """The invitation stage's hint, its limits taken from the run's own input."""
    return INVITATION_HINTS[stage].format(
        once_per=once_per(params.resend_cooldown_seconds), up_to=times_up_to(params.max_resends)
    )


def msk(moment: datetime) -> str:
    return moment.astimezone(MSK).strftime("%d.%m.%Y %H:%M МСК")


def once_per(seconds: int) -> str:
    """«раза в минуту», «раза в 2 минуты», «раза в 30 секунд», «раза в час»."""
    for size, forms in ((3600, ("час", "часа", "часов")), (60, ("минуту", "минуты", "минут"))):
        if seconds >= size and seconds % size == 0:
            return f"раза в {_count(seconds // size, forms)}"
    return f"раза в {_count(seconds, ('секунду', 'секунды', 'секунд'))}"


def times_up_to(n: int) -> str:
    """After «до»: «1 раза», «5 раз», «21 раза»."""
    return f"{n} {'раза' if n % 10 == 1 and n % 100 != 11 else 'раз'}"


def _count(n: int, forms: tuple[str, str, str]) -> str:
    """«минуту» for one (no number), else «2 минуты», «5 минут», «21 минуту»."""
    return forms[0] if n == 1 else f"{n} {plural(n, *forms)}"


def plural(n: int, one: str, few: str, many: str) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many
