"""The captcha as a form shows it: a fresh challenge (counted against the per-address
limit), its no-picture puzzle, and which way the customer chose.

Pages ask for a challenge here, never from ``lkk.captcha`` directly, so every challenge
a client can make counts against ``rate_limit_captcha``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from api.deps import AppContext
from api.forms import ShowAgain, is_form_post, submitted_values
from api.ratelimit import client_ip, limiter_of
from lkk import captcha
from lkk.errors import CaptchaFailed
from lkk.timeutil import utcnow

HINT = (
    f"Латинские буквы {' '.join(captcha.LETTERS)} и цифры {' '.join(captcha.DIGITS)}. "
    "Регистр не важен, буквы можно набрать и в русской раскладке."
)
NEEDED = "Введите код с картинки."
WRONG = "Код с картинки введён неверно. Введите новый код."
NONVISUAL_FAILED = "Проверка без картинки не пройдена. Дождитесь сообщения «Проверка пройдена» и отправьте форму ещё раз."


class Mode(StrEnum):
    IMAGE = "image"
    NONVISUAL = "nonvisual"  # «Не могу прочитать код»


class Action(StrEnum):
    """The form's secondary buttons: they come back to the same page, values kept."""

    NEW = "new"  # «Другой код»
    NONVISUAL = "nonvisual"  # «Не могу прочитать код»
    IMAGE = "image"  # back to the picture


@dataclass(frozen=True)
class CaptchaView:
    id: str  # "" when the address asked for too many codes
    mode: Mode
    puzzle: captcha.Puzzle | None
    retry_after: int = 0
    focus: bool = False  # the customer just pressed one of its buttons

    hint: str = HINT

    @property
    def error_key(self) -> str:
        return error_key(self.mode)


def error_key(mode: Mode) -> str:
    """The field an error about the captcha belongs to (the summary links to it)."""
    return "captcha_solution" if mode is Mode.NONVISUAL else "captcha_answer"


def parse_mode(mode: str, action: str) -> Mode:
    if action == Action.NONVISUAL:
        return Mode.NONVISUAL
    if action == Action.IMAGE:
        return Mode.IMAGE
    return Mode.NONVISUAL if mode == Mode.NONVISUAL else Mode.IMAGE


def parse_action(action: str) -> Action | None:
    try:
        return Action(action)
    except ValueError:
        return None


async def issue(request: Request, ctx: AppContext, mode: Mode = Mode.IMAGE, *, focus: bool = False) -> CaptchaView:
    retry = await run_in_threadpool(limiter_of(request).hit, "captcha", client_ip(request))
    if retry:
        return CaptchaView(id="", mode=mode, puzzle=None, retry_after=retry)
    challenge_id = await run_in_threadpool(captcha.new_challenge, ctx.engine, ctx.settings, now=utcnow())
    return CaptchaView(id=challenge_id, mode=mode, puzzle=captcha.puzzle(ctx.settings, challenge_id), focus=focus)


async def check(ctx: AppContext, challenge_id: str, answer: str, solution: str, mode: Mode) -> str | None:
    """None if passed, else the Russian message. Consumes the challenge either way."""
    if mode is Mode.IMAGE and not answer.strip():
        return NEEDED
    passed = await run_in_threadpool(
        captcha.verify, ctx.engine, ctx.settings, challenge_id, answer if mode is Mode.IMAGE else "",
        now=utcnow(), solution=solution if mode is Mode.NONVISUAL else "",
    )
    if passed:
        return None
    return NONVISUAL_FAILED if mode is Mode.NONVISUAL else WRONG


async def checked_captcha(request: Request) -> Mode:
    """Dependency of a form with a captcha (the sign-up): consumes and checks the
    challenge from the body as typed, *before* FastAPI validates the form's model, so
    the captcha is used up whatever the other fields say and ``api.forms.FormRoute``
    tells its ``CaptchaFailed`` together with the fields' own mistakes (one round).
    A page's captcha button («Другой код», «Не могу прочитать код») raises ``ShowAgain``."""
    values = await submitted_values(request)
    if values is None:
        return Mode.IMAGE  # not an object: FastAPI refuses the body itself
    answer, solution = values.get("captcha_answer", ""), values.get("captcha_solution", "")
    if is_form_post(request):
        action = values.get("captcha_action", "")
        if parse_action(action) is not None:
            raise ShowAgain()
        mode = parse_mode(values.get("captcha_mode", ""), action)
    else:  # JSON: the number of the no-picture way, or the picture's characters
        mode = Mode.NONVISUAL if solution and not answer else Mode.IMAGE
    problem = await check(request.app.state.ctx, values.get("captcha_id", ""), answer, solution, mode)
    if problem:
        raise CaptchaFailed({error_key(mode): problem})
    return mode
