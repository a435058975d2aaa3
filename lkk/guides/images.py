"""Light copies of the page screenshots for the guides (PDF and HTML).

The screenshots in docs/img are full-colour PNGs of flat UI: 256 colours hold them with
no visible change (no dithering, so text edges stay clean) at about 40 % of the bytes.
A picture is only shrunk when it is shown at less than half its pixels (a tall page
squeezed onto an A4 page): shrinking smooths edges into new colours, and measured on
these screenshots a 0.6-0.9 shrink made the PNG larger, not smaller. Copies are cached
on disk by content.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

from PIL import Image

COLOURS = 256
SHRINK_BELOW = 0.5  # shrink only when max_width is under this share of the width
RECIPE = b"v1-mediancut-256-nodither-half"  # change it when the recipe changes: new cache keys


def light_png(source: Path, cache_dir: Path, max_width: int | None = None) -> Path:
    """Path of a palette PNG of ``source``, at most ``max_width`` pixels wide."""
    data = source.read_bytes()
    with Image.open(io.BytesIO(data)) as img:  # reads the header only
        width = img.width
    shrink_to = max_width if max_width is not None and max_width < width * SHRINK_BELOW else None
    # Keyed by what is made, so the PDF's and the web page's full-size copies are one file.
    key = hashlib.sha256(data + RECIPE + str(shrink_to).encode()).hexdigest()[:16]
    out = cache_dir / f"{source.stem}-{key}.png"
    if out.exists():
        return out
    cache_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(out, _palette_png(data, shrink_to))
    return out


def _palette_png(data: bytes, shrink_to: int | None) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        rgb = img.convert("RGB")
    if shrink_to is not None:
        rgb = rgb.resize((shrink_to, round(rgb.height * shrink_to / rgb.width)), Image.Resampling.LANCZOS)
    palette = rgb.quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    palette.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _write_atomic(path: Path, data: bytes) -> None:
    # Several API processes may share the data dir: never expose a half-written file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
