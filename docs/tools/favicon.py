"""Draw api/static/favicon.ico from the bundled logo's shapes (the same circle and bolt as
api/static/logo.svg and favicon.svg), so /favicon.ico is a real icon, not a 404.

    .venv/bin/python docs/tools/favicon.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[2] / "api" / "static" / "favicon.ico"
BLUE, AMBER = "#0b5cad", "#f2a900"
BOLT = [(22.5, 6), (11, 22.5), (18.5, 22.5), (16.5, 34), (29, 16.5), (21.4, 16.5)]  # logo.svg's path
SCALE = 16  # draw big, then shrink: smooth edges without an SVG renderer


def draw() -> Image.Image:
    size = 40 * SCALE
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    pen = ImageDraw.Draw(img)
    pen.ellipse((SCALE, SCALE, 39 * SCALE, 39 * SCALE), fill=BLUE)
    pen.polygon([(x * SCALE, y * SCALE) for x, y in BOLT], fill=AMBER)
    return img


def main() -> None:
    draw().save(OUT, format="ICO", sizes=[(16, 16), (32, 32), (48, 48)])
    print(OUT)


if __name__ == "__main__":
    main()
