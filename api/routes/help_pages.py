"""What every visitor can reach: the help desk («Служба поддержки пользователей», manual
section 3), the guides behind the blue «?» and the supplier's logo (configurable,
served from our own origin for the CSP)."""

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
from lkk.settings import Settings

log = logging.getLogger("lkk.api")
router = APIRouter(include_in_schema=False)

BUNDLED_LOGO = STATIC_DIR / "logo.svg"
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
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})


class GuideCache:
    """Each guide built once per process from docs/guides + docs/img, so the PDF always
    matches the sources and settings (branding, phones) this process runs with."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pdfs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get(self, slug: str) -> bytes:
        with self._lock:
            if slug not in self._pdfs:
                self._pdfs[slug] = build_pdf(slug, self.settings)
            return self._pdfs[slug]

    def warm(self) -> None:
        """Build both ahead of the first click (start-up runs it in the background)."""
        try:
            for slug in GUIDES:
                self.get(slug)
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
