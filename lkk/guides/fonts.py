"""Static Noto Sans faces for the PDFs, cut from the variable font in ``fontpkg-noto-sans``.

fpdf2 can instantiate a variable font itself, but that takes seconds per face (the
whole GPOS table is merged); subsetting to the scripts the guides use first makes it
about a second, and the result is cached on disk next to the app's other data.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from importlib import metadata
from pathlib import Path

import fontpkg_noto_sans
from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.varLib import instancer

# fontTools reports every subsetting step at INFO; only its warnings matter to us.
logging.getLogger("fontTools").setLevel(logging.WARNING)

VARIABLE_FONT = fontpkg_noto_sans.ROOT / "files" / "NotoSans[wdth,wght].ttf"
WEIGHTS = {"regular": 400, "bold": 700}
# Latin, Latin-1 and Extended-A, Cyrillic, general punctuation (« » – — …), № and ₽, bullets.
UNICODES = [
    *range(0x20, 0x180), *range(0x400, 0x460), *range(0x2010, 0x2070), 0x2116, 0x20BD, 0x2022, 0x25CF,
]
_lock = threading.Lock()


def static_faces(cache_dir: Path) -> dict[str, Path]:
    """Paths of the regular and bold TTFs, built on first use."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    paths = {style: cache_dir / f"NotoSans-{weight}-v{fontpkg_version()}.ttf" for style, weight in WEIGHTS.items()}
    with _lock:
        if not all(path.exists() for path in paths.values()):
            _build(paths)
    return paths


def fontpkg_version() -> str:
    return metadata.version("fontpkg-noto-sans")  # a new font release gets new cache files


def _build(paths: dict[str, Path]) -> None:
    font = TTFont(VARIABLE_FONT)
    options = subset.Options()
    options.layout_features = ["kern", "liga", "locl"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=UNICODES)
    subsetter.subset(font)
    for style, path in paths.items():
        face = instancer.instantiateVariableFont(font, {"wght": WEIGHTS[style], "wdth": 100}, inplace=False)
        # Atomic: API processes sharing the data dir never read a half-written file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.close(fd)
        face.save(tmp)
        os.replace(tmp, path)
