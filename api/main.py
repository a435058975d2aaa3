"""The FastAPI application: JSON API under /api/v1, Russian web pages, OpenAPI at /docs (development).

Run: ``python -m api.serve`` (uvicorn with a drain before it stops; the image, the Procfile and the tests use it).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import errors as api_errors
from api import metrics as api_metrics
from api.body_limit import BodyLimitMiddleware
from api.client_address import ClientAddressMiddleware
from api.csrf import CsrfFailed, make_csrf
from api.deps import AppContext, LeaveCabinet
from api.json_only import JsonOnlyApiMiddleware
from api.odd_input import OddInputMiddleware
from api.openapi import allowed_methods, install_openapi
from api.ratelimit import RateLimited, RateLimiter
from api.relative_redirects import RelativeRedirectsMiddleware
from api.routes import (
    account_pages,
    auth_api,
    auth_pages,
    captcha_api,
    company_api,
    company_pages,
    contracts_api,
    contracts_pages,
    health_api,
    help_pages,
    registration_api,
    registration_pages,
)
from api.security_headers import HEADERS as SECURITY_HEADERS
from api.security_headers import SecurityHeadersMiddleware
from api.services import passwords as password_svc
from api.templating import STATIC_DIR, make_templates, render
from api.temporal_link import TemporalLink
from lkk.db import engine_for
from lkk.logging_setup import configure_logging
from lkk.settings import Settings, get_settings
from lkk.store import login_throttle, session_for
from lkk.timeutil import utcnow

log = logging.getLogger("lkk.api")

# FastAPI's own text when a body is not JSON/UTF-8 at all; customers get Russian.
FASTAPI_BODY_PARSE_ERROR = "There was an error parsing the body"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings)
        # The schema is migrated before the API starts (`lkk db upgrade`), never here:
        # several replicas starting at once must not race to change it.
        engine = engine_for(settings)
        # Forget failure counters nobody touched for a day (unknown logins included).
        # In the background: start-up (and /healthz) must not wait on the database.
        threading.Thread(target=_purge_throttles, args=(engine, settings), name="purge-throttles", daemon=True).start()
        ctx = AppContext(settings=settings, engine=engine)
        app.state.ctx = ctx
        # Temporal is not needed to start or to log in: the link connects (and reconnects)
        # in the background; steps that need Temporal answer 503 while it is down.
        ctx.temporal_link = TemporalLink(settings, on_up=lambda: _deliver_parked(ctx))
        await ctx.temporal_link.start(first_try_seconds=FIRST_CONNECT_SECONDS)
        # The guides take a few seconds to build: start now, off the event loop.
        warming = asyncio.create_task(asyncio.to_thread(app.state.guides.warm))
        yield
        await ctx.temporal_link.stop()
        await warming
        engine.dispose()

    app = FastAPI(
        title="ЛКК: подключение клиентов",
        summary="Onboarding API of the legal-entity customer cabinet: sign-up, e-mail confirmation, contract binding.",
        version="0.1.0",
        lifespan=lifespan,
        # FastAPI's docs pages pull Swagger/Redoc from a CDN (unpinned) and inline a script,
        # which the CSP forbids: served only in development, never on the cabinet's origin.
        docs_url="/docs" if settings.is_development else None,
        redoc_url="/redoc" if settings.is_development else None,
    )
    app.state.settings = settings
    app.state.draining = False  # set by api.serve on SIGTERM: /readyz then answers 503
    app.state.templates = make_templates(settings)
    app.state.guides = help_pages.GuideCache(settings)
    app.state.csrf = make_csrf(settings)
    app.state.limiter = RateLimiter(settings)
    app.add_middleware(JsonOnlyApiMiddleware)
    # NUL and lone surrogates never reach a route (PostgreSQL would fail on them: a 500).
    app.add_middleware(OddInputMiddleware)
    app.add_middleware(RelativeRedirectsMiddleware)
    # Refuse an oversized body before anything parses it (inside the metrics timer).
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(api_metrics.MetricsMiddleware)  # times the whole request
    # Outside every middleware that answers on its own (413): headers on every response.
    app.add_middleware(
        SecurityHeadersMiddleware, https=settings.public_base_url.startswith("https://"), docs=settings.is_development
    )
    # Outermost: everything inside sees the client's real address, never a spoofed one.
    app.add_middleware(ClientAddressMiddleware, trusted_proxies=settings.trusted_proxy_list)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    routers = (
        api_metrics,
        captcha_api,
        registration_api,
        registration_pages,
        auth_api,
        auth_pages,
        account_pages,
        # Before contracts_api: its DELETE /api/v1/contracts/{number:path} would take the members' paths.
        company_api,
        company_pages,
        contracts_api,
        contracts_pages,
        health_api,
        help_pages,
    )
    for module in routers:
        app.include_router(module.router)
    _install_error_pages(app)
    api_errors.install(app)  # typed refusals (lkk.errors) -> status and Russian message
    install_openapi(app)
    return app


# A healthy Temporal answers in milliseconds; a dead one must not hold up the start.
FIRST_CONNECT_SECONDS = 3.0


async def _deliver_parked(ctx: AppContext) -> None:
    await password_svc.deliver_parked(ctx)


def _purge_throttles(engine: Engine, settings: Settings) -> None:
    try:
        with session_for(engine) as session:
            login_throttle.purge_stale(session, settings, now=utcnow())
    except Exception:
        log.exception("could not purge stale login throttles; will retry at the next start")


# What people see instead of a bare status code (never the exception text).
HTML_ERRORS: dict[int, tuple[str, str]] = {
    400: ("Запрос не выполнен", "Запрос не удалось выполнить. Вернитесь на предыдущую страницу и попробуйте ещё раз."),
    404: ("Страница не найдена", "Такой страницы нет. Проверьте адрес или перейдите на главную страницу."),
    405: ("Запрос не выполнен", "Так открыть эту страницу нельзя. Перейдите на главную страницу."),
    429: ("Слишком много попыток", "Подождите немного и попробуйте ещё раз."),
}


def _is_russian(text: str) -> bool:
    return any("а" <= ch.lower() <= "я" for ch in text)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def _install_error_pages(app: FastAPI) -> None:
    """Russian error pages for people, JSON for the API; never a stack trace."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # Starlette names only the first route's methods; RFC 9110 wants all of the path's.
            headers["Allow"] = allowed_methods(request)
        if _wants_html(request):
            title, text = HTML_ERRORS.get(exc.status_code, HTML_ERRORS[400])
            if isinstance(exc.detail, str) and _is_russian(exc.detail):
                text = exc.detail  # a route's own Russian message; framework defaults are English
            context = {"title": title, "text": text, "kind": "error", "actions": [("/", "На главную страницу")]}
            page = render(request, "message.html", context, status_code=exc.status_code)
            page.headers.update(headers)
            return page
        detail = exc.detail
        if exc.status_code == 400 and detail == FASTAPI_BODY_PARSE_ERROR:
            detail = "Тело запроса не разобрано: ожидается JSON в кодировке UTF-8."
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers or None)

    @app.exception_handler(LeaveCabinet)
    async def leave_cabinet(request: Request, exc: LeaveCabinet) -> Response:
        return RedirectResponse(exc.location, status_code=303)

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> Response:
        text = f"Слишком много запросов с вашего адреса. Повторите через {exc.retry_after} с."
        headers = {"Retry-After": str(exc.retry_after)}
        if _wants_html(request):
            response = render(request, "message.html", {"title": "Слишком много запросов", "text": text}, status_code=429)
            response.headers.update(headers)
            return response
        return JSONResponse({"detail": text, "retry_after_seconds": exc.retry_after}, status_code=429, headers=headers)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        log.warning("CSRF check failed on %s %s", request.method, request.url.path)
        return render(
            request,
            "message.html",
            {
                "title": "Страница устарела",
                "text": "Форма устарела или отправлена с другого сайта. Откройте страницу заново и повторите.",
                "outcome": "csrf",
            },
            status_code=403,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if _wants_html(request):
            return render(
                request,
                "message.html",
                {"title": "Неверный запрос", "text": "Форма заполнена неверно. Вернитесь и попробуйте ещё раз.", "kind": "error"},
                status_code=422,
            )
        return JSONResponse({"detail": "Неверный запрос.", "errors": _safe_errors(exc)}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        response: Response
        if _wants_html(request):
            response = render(
                request,
                "message.html",
                {
                    "title": "Что-то пошло не так",
                    "text": "Мы уже знаем о проблеме. Попробуйте ещё раз позже.",
                    "kind": "error",
                    "actions": [("/", "На главную страницу")],
                },
                status_code=500,
            )
        else:
            response = JSONResponse({"detail": "Внутренняя ошибка сервиса."}, status_code=500)
        # Starlette answers this one outside every middleware: the headers go on here.
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def _safe_errors(exc: RequestValidationError) -> dict[str, str]:
    # Field names only, never the submitted values (they may be passwords).
    return {".".join(str(p) for p in err["loc"][1:]) or "body": err["msg"] for err in exc.errors()}


app = create_app()  # uvicorn api.main:app
