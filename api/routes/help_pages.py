"""What every visitor can reach: the help desk («Служба поддержки пользователей», manual
section 3), the guides behind the blue «?» (PDF) and beside it as HTML pages, the
supplier's logo (configurable, served from our own origin for the CSP), the favicon."""

from __future__ import annotations

import logging
import threading
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import Ctx
from api.templating import STATIC_DIR, render
from lkk.guides.build import GUIDES, build_pdf
from lkk.guides.web import render_guide_body, screenshot_file
from lkk.settings import Settings

log = logging.getLogger("lkk.api")
router = APIRouter(include_in_schema=False)

BUNDLED_LOGO = STATIC_DIR / "logo.svg"
FAVICON = STATIC_DIR / "favicon.ico"
CACHE_AN_HOUR = {"Cache-Control": "public, max-age=3600"}
LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}


@router.get("/support", response_class=HTMLResponse)
async def support(request: Request) -> HTMLResponse:
    return render(request, "support.html")


@router.get("/branding/logo")
async def logo(ctx: Ctx) -> FileResponse:
    path = ctx.settings.supplier_logo_file or BUNDLED_LOGO
    if not path.is_file():  # a misconfigured path must not break every page: fall back
        path = BUNDLED_LOGO
    media_type = LOGO_TYPES.get(path.suffix.lower(), "application/octet-stream")
    return FileResponse(path, media_type=media_type, headers=CACHE_AN_HOUR)


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    # Browsers ask for it on every page whatever the <link rel=icon> says.
    return FileResponse(FAVICON, media_type="image/x-icon", headers=CACHE_AN_HOUR)


class GuideCache:
    """Each guide built once per process from docs/guides + docs/img, so the PDF always
    matches the sources and settings (branding, phones) this process runs with."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pdfs: dict[str, bytes] = {}
        self._pages: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, slug: str) -> bytes:
        with self._lock:
            if slug not in self._pdfs:
                self._pdfs[slug] = build_pdf(slug, self.settings)
            return self._pdfs[slug]

    def page(self, slug: str) -> str:
        """The guide's HTML body (same sources and screenshots as its PDF)."""
        with self._lock:
            if slug not in self._pages:
                self._pages[slug] = render_guide_body(slug, self.settings)
            return self._pages[slug]

    def warm(self) -> None:
        """Build both ahead of the first click (start-up runs it in the background)."""
        try:
            for slug in GUIDES:
                self.get(slug)
                self.page(slug)
        except Exception:  # the route will fail visibly too; here only tell the operator
            log.exception("building the PDF guides failed")


@router.get("/guides/{slug}.pdf")
async def guide(slug: str, request: Request) -> Response:
    found = GUIDES.get(slug)
    if found is None:
        raise HTTPException(404, "Такой инструкции нет. Инструкции есть на странице службы поддержки.")
    cache: GuideCache = request.app.state.guides
    pdf = await run_in_threadpool(cache.get, slug)
    disposition = f"attachment; filename=\"{found.download_name}\"; filename*=UTF-8''{quote(found.title + '.pdf')}"
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition, "Cache-Control": "no-cache"})


@router.get("/guides/img/{name}.png")
async def guide_image(name: str, request: Request) -> FileResponse:
    cache: GuideCache = request.app.state.guides
    path = await run_in_threadpool(screenshot_file, name, cache.settings)
    if path is None:  # only the guides' own screenshots, never another file
        raise HTTPException(404)
    return FileResponse(path, media_type="image/png", headers=CACHE_AN_HOUR)


@router.get("/guides/{slug}", response_class=HTMLResponse)
async def guide_page(slug: str, request: Request) -> HTMLResponse:
    found = GUIDES.get(slug)
    if found is None:
        raise HTTPException(404)
    cache: GuideCache = request.app.state.guides
    body = await run_in_threadpool(cache.page, slug)
    pdf_kib = len(await run_in_threadpool(cache.get, slug)) // 1024  # the size helps on a slow link
    return render(request, "guide.html", {"guide": found, "body": body, "pdf_kib": pdf_kib})
