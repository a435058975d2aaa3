"""Pages every visitor can reach: the help desk («Служба поддержки пользователей», manual
section 3) and the supplier's logo (configurable, served from our own origin for the CSP)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from api.deps import Ctx
from api.templating import STATIC_DIR, render

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
