"""PNG files that carry the settings that made them.

The `parameters` text chunk follows the convention other studios read (prompt, then
"Negative prompt: ...", then "Key: value, ..." settings); the `portraitist` chunk holds the same
and more as JSON for exact round trips.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from PIL import Image, PngImagePlugin

from . import __version__
from .files import atomic_write


def parameters_text(settings: dict) -> str:
    prompt = str(settings.get("prompt", ""))
    negative = settings.get("negative_prompt")
    rest = {k: v for k, v in settings.items() if k not in ("prompt", "negative_prompt") and v is not None}
    lines = [prompt]
    if negative:
        lines.append(f"Negative prompt: {negative}")
    lines.append(", ".join(f"{k.replace('_', ' ').capitalize()}: {v}" for k, v in rest.items()))
    return "\n".join(lines)


def save_png(image: Image.Image, path: str | os.PathLike, settings: dict) -> Path:
    """Write `image` with `settings` in its text chunks, atomically (no half-written file on a crash)."""
    path = Path(path)
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", parameters_text(settings))
    info.add_text("portraitist", json.dumps({"version": __version__, **settings}, default=str))
    atomic_write(path, lambda tmp: image.save(tmp, format="PNG", pnginfo=info))
    return path


def read_settings(path: str | os.PathLike) -> dict:
    """The settings saved by `save_png`, or {} for a PNG without them."""
    with Image.open(path) as img:
        text = img.text.get("portraitist") if hasattr(img, "text") else None
    return json.loads(text) if text else {}
