"""The image captcha: create a challenge, fetch its picture."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.deps import Ctx
from lkk import captcha
from lkk.timeutil import utcnow

router = APIRouter(prefix="/api/v1/captcha", tags=["captcha"])


class CaptchaGone(BaseModel):
    detail: str


class CaptchaOut(BaseModel):
    captcha_id: str
    image_url: str


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CaptchaOut)
async def new_captcha(request: Request, ctx: Ctx) -> CaptchaOut:
    challenge_id = await run_in_threadpool(captcha.new_challenge, ctx.engine, ctx.settings, now=utcnow())
    # A path, not url_for's absolute URL: that one takes its host from the Host header.
    return CaptchaOut(captcha_id=challenge_id, image_url=str(request.app.url_path_for("captcha_image", captcha_id=challenge_id)))


@router.get(
    "/{captcha_id}.png",
    name="captcha_image",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, 404: {"model": CaptchaGone}},
)
async def captcha_image(captcha_id: str, ctx: Ctx) -> Response:
    png = await run_in_threadpool(captcha.image_png, ctx.engine, captcha_id, now=utcnow())
    if png is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Код устарел. Запросите новый.")
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})
