"""The captcha: create a challenge, fetch its picture. Both are limited per client
address; a challenge has one picture, and its no-picture puzzle comes with it."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import Ctx
from api.ratelimit import rate_limit
from lkk import captcha
from lkk.timeutil import utcnow

router = APIRouter(prefix="/api/v1/captcha", tags=["captcha"])


class CaptchaGone(BaseModel):
    detail: str


class PuzzleOut(BaseModel):
    """«Не могу прочитать код»: find ``number`` in 0..max_number with
    SHA-256(salt + number) == challenge (hex); send it as ``captcha_solution``."""

    algorithm: str = Field(default=captcha.POW_ALGORITHM)
    salt: str
    challenge: str
    max_number: int


class CaptchaOut(BaseModel):
    captcha_id: str
    image_url: str
    puzzle: PuzzleOut


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CaptchaOut, dependencies=[rate_limit("captcha")])
async def new_captcha(request: Request, ctx: Ctx) -> CaptchaOut:
    challenge_id = await run_in_threadpool(captcha.new_challenge, ctx.engine, ctx.settings, now=utcnow())
    found = captcha.puzzle(ctx.settings, challenge_id)
    return CaptchaOut(
        captcha_id=challenge_id,
        # A path, not url_for's absolute URL: that one takes its host from the Host header.
        image_url=str(request.app.url_path_for("captcha_image", captcha_id=challenge_id)),
        puzzle=PuzzleOut(salt=found.salt, challenge=found.challenge, max_number=found.max_number),
    )


@router.get(
    "/{captcha_id}.png",
    name="captcha_image",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, 404: {"model": CaptchaGone}},
    dependencies=[rate_limit("captcha_image")],
)
async def captcha_image(captcha_id: str, ctx: Ctx) -> Response:
    png = await run_in_threadpool(captcha.image_png, ctx.engine, captcha_id, now=utcnow())
    if png is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Код устарел. Запросите новый.")
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})
