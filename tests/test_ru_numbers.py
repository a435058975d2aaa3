"""Russian numbers in texts that quote settings: the noun form after a number, durations."""

from __future__ import annotations

import pytest

from api.templating import TEMPLATES_DIR, password_min_hint
from lkk.ru_numbers import duration, every, plural
from lkk.validation import check_password


@pytest.mark.parametrize(
    ("n", "form"),
    [(0, "часов"), (1, "час"), (2, "часа"), (4, "часа"), (5, "часов"), (11, "часов"), (12, "часов"),
     (14, "часов"), (21, "час"), (22, "часа"), (72, "часа"), (101, "час"), (111, "часов"), (112, "часов")],
)
def test_plural_picks_the_form_by_the_last_digits(n: int, form: str) -> None:
    assert plural(n, "час", "часа", "часов") == form


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(72 * 3600, "72 часа"), (3600, "1 час"), (5 * 60, "5 минут"), (60, "1 минуту"), (21 * 60, "21 минуту"),
     (90, "90 секунд"), (24 * 3600, "24 часа"), (96 * 3600, "4 дня"), (7 * 86400, "7 дней"), (90 * 86400, "90 дней")],
)
def test_duration_in_the_largest_whole_unit_hours_up_to_72(seconds: int, said: str) -> None:
    assert duration(seconds) == said


@pytest.mark.parametrize(("seconds", "said"), [(60, "минуту"), (3600, "час"), (120, "2 минуты"), (300, "5 минут")])
def test_every_drops_a_lone_one(seconds: int, said: str) -> None:
    assert every(seconds) == said


def test_password_length_texts_follow_the_setting() -> None:
    assert password_min_hint(8) == "Не менее 8 символов"
    assert password_min_hint(21) == "Не менее 21 символа"
    with pytest.raises(ValueError, match="не менее 21 символа"):
        check_password("x" * 10, min_length=21, max_length=128)
    for page in TEMPLATES_DIR.glob("*.html"):
        assert "Не менее 8 символов" not in page.read_text(encoding="utf-8"), f"{page.name}: use password_min_hint"
