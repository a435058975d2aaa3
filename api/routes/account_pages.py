"""The login page (fig. 1), the Profile («Профиль», fig. 3; its contract forms are in
``contracts_pages``) and logout."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.cookies import clear_session_cookie
from api.deps import Ctx, CurrentAccount
from api.routes.contracts_pages import render_profile
from api.templating import render
from lkk.store import web_sessions

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(account: CurrentAccount) -> RedirectResponse:
    return RedirectResponse("/profile" if account else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", {"values": {}, "errors": {}})


@router.get("/profile", response_class=HTMLResponse)
async def profile(request: Request, ctx: Ctx, account: CurrentAccount, welcome: int = 0) -> Response:
    if account is None:
        return RedirectResponse("/login", status_code=303)
    query = {key: request.query_params.get(key, "") for key in ("bound", "already", "unbound")}
    return await render_profile(request, ctx, account, welcome=bool(welcome), query=query)


@router.post("/logout")
async def logout(request: Request, ctx: Ctx) -> RedirectResponse:
    token = request.cookies.get(ctx.settings.session_cookie_name)
    if token:
        await run_in_threadpool(web_sessions.close_session, ctx.engine, token)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, ctx.settings)
    return response
