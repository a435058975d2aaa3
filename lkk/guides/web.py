"""The guides as HTML pages: the same docs/guides/*.md and the same screenshots as the
PDFs behind the blue «?», for screen readers, phones and slow links (a PDF of A4 pages
is none of these)."""

from __future__ import annotations

import html
import re
from pathlib import Path

from PIL import Image

from lkk.guides.build import GUIDES_DIR, IMG, image_cache_dir, markdown_html
from lkk.guides.images import light_png
from lkk.settings import Settings

IMAGE_URL = "/guides/img/{name}.png"
# Widest a picture is shown on the page (the text column), times 2 for sharp phones.
WEB_IMAGE_MAX_WIDTH = 1024
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\(\.\./img/([a-z0-9-]+)\.png\)")
_FIGURE_NUMBER = re.compile(r"^Рисунок \d+\s*[–-]\s*")


def screenshot_names() -> set[str]:
    """Every screenshot a guide shows (the only pictures /guides/img serves)."""
    return {name for source in GUIDES_DIR.glob("*.md") for name in _MD_IMAGE.findall(source.read_text(encoding="utf-8"))}


def screenshot_file(name: str, settings: Settings) -> Path | None:
    """The light copy of a guide's screenshot, or None for any other name."""
    if name not in screenshot_names():
        return None
    return light_png(GUIDES_DIR.parent / "img" / f"{name}.png", image_cache_dir(settings), max_width=WEB_IMAGE_MAX_WIDTH)


def render_guide_body(slug: str, settings: Settings) -> str:
    """HTML of the guide from its <h1> on, for the page template."""
    return _figures(markdown_html(slug, settings, for_web=True))


def _figures(page_html: str) -> str:
    """Each picture becomes a figure with its caption; its alt text says what it is."""

    def figure(match: re.Match[str]) -> str:
        src, caption = match.group(1), html.unescape(match.group(2))
        name = Path(src).stem
        with Image.open(GUIDES_DIR / src) as img:
            width, height = img.size
        subject = _FIGURE_NUMBER.sub("", caption)
        return (
            f'<figure><img src="{IMAGE_URL.format(name=name)}" width="{width}" height="{height}" loading="lazy"'
            f' alt="{html.escape(f"Снимок экрана: {subject}")}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    return IMG.sub(figure, page_html)
