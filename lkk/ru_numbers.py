"""Numbers in Russian text: the noun form after a number, and durations from settings.

Texts that quote a setting («Ссылка действует 72 часа») render it through these
helpers, so changing the setting changes the text with the right grammar. Jinja2
templates get them as filters (``JINJA_FILTERS``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Forms = tuple[str, str, str]

# Accusative, as a duration is said: «действует 1 час / 21 минуту / 5 дней».
_UNITS: tuple[tuple[int, Forms], ...] = (
    (86400, ("день", "дня", "дней")),
    (3600, ("час", "часа", "часов")),
    (60, ("минуту", "минуты", "минут")),
    (1, ("секунду", "секунды", "секунд")),
)
# People say «72 часа», not «3 дня»: whole days only beyond this.
_HOURS_UP_TO = 72 * 3600


def plural(n: int, one: str, few: str, many: str) -> str:
    """The form for n: one for 1, 21, 101…; few for 2–4, 22–24…; many for 0, 5–20, 25…
    The caller gives the forms of the case it needs: ("час", "часа", "часов") after
    «действует», ("символа", "символов", "символов") after «не менее»."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def _unit(seconds: int) -> tuple[int, Forms]:
    for size, forms in _UNITS:
        if seconds and seconds % size == 0 and (size < 86400 or seconds > _HOURS_UP_TO):
            return seconds // size, forms
    return seconds, _UNITS[-1][1]


def duration(seconds: int | float) -> str:
    """How long, in the largest whole unit: 259200 -> "72 часа", 3600 -> "1 час",
    300 -> "5 минут", 90 -> "90 секунд", 604800 -> "7 дней"."""
    count, forms = _unit(int(seconds))
    return f"{count} {plural(count, *forms)}"


def to_contracts(numbers: "list[str] | tuple[str, ...]") -> str:
    """«к договору № 7701-000101» / «к договорам № 7701-000101, 7701-000102» (dative)."""
    noun = "договору" if len(numbers) == 1 else "договорам"
    return f"{noun} № {', '.join(numbers)}"


def every(seconds: int | float) -> str:
    """The interval in «раз в …»: 60 -> "минуту", 3600 -> "час", 120 -> "2 минуты"."""
    count, forms = _unit(int(seconds))
    return forms[0] if count == 1 else f"{count} {plural(count, *forms)}"


def wait(seconds: int) -> str:
    """How long until a lock lifts, rounded up to whole minutes: «1 минуту»,
    «3 минуты», «2 часа 5 минут»."""
    minutes = max(1, -(-seconds // 60))
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} {plural(hours, 'час', 'часа', 'часов')}"] if hours else []
    if minutes:
        parts.append(f"{minutes} {plural(minutes, 'минуту', 'минуты', 'минут')}")
    return " ".join(parts)


JINJA_FILTERS: dict[str, Callable[..., Any]] = {"plural": plural, "duration": duration, "every": every}
