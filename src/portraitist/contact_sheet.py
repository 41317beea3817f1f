"""Grids of faces, optionally captioned: data previews, sample grids, report galleries."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .errors import InvalidInput


def contact_sheet(
    images: np.ndarray,
    captions: Sequence[str] | None = None,
    cell: int = 128,
    columns: int | None = None,
    font_size: int = 11,
    caption_lines: int = 5,
) -> Image.Image:
    """(N, H, W, 3) uint8 faces in a grid, each upscaled to `cell` px (Lanczos) with its caption
    wrapped beneath. Upscaling is for viewing only: the native size is the array's."""
    if images.ndim != 4 or images.shape[-1] != 3 or len(images) == 0:
        raise InvalidInput(f"expected a non-empty (N, H, W, 3) array, got shape {images.shape}")
    if captions is not None and len(captions) != len(images):
        raise InvalidInput(f"{len(images)} images but {len(captions)} captions")
    n = len(images)
    cols = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    pad = 4
    font = ImageFont.load_default(size=font_size)
    text_h = (font_size + 2) * caption_lines + pad if captions else 0
    sheet = Image.new("RGB", (cols * (cell + pad) + pad, rows * (cell + text_h + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    chars = max(8, int(cell / (font_size * 0.55)))
    for i, img in enumerate(images):
        x = pad + (i % cols) * (cell + pad)
        y = pad + (i // cols) * (cell + text_h + pad)
        tile = Image.fromarray(np.asarray(img, dtype=np.uint8))
        if tile.size != (cell, cell):
            tile = tile.resize((cell, cell), Image.Resampling.LANCZOS)
        sheet.paste(tile, (x, y))
        if captions:
            lines = textwrap.wrap(captions[i], chars)
            if len(lines) > caption_lines:
                lines = lines[:caption_lines]
                lines[-1] = lines[-1][: chars - 1] + "…"
            for k, line in enumerate(lines):
                draw.text((x, y + cell + 2 + k * (font_size + 2)), line, fill=(30, 30, 30), font=font)
    return sheet
