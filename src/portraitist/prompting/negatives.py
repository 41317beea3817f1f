"""Negative-prompt presets, selectable by name and combinable:

negative_prompt("blurry", "watermark", extra="eyeglasses")
# "blurry, out of focus, motion blur, ..., watermark, text, logo, ..., eyeglasses"
"""

from __future__ import annotations

from ..errors import InvalidInput

PRESETS: dict[str, tuple[str, ...]] = {
    "blurry": ("blurry", "out of focus", "motion blur", "soft focus", "low resolution", "jpeg artifacts"),
    "deformed": (
        "deformed", "asymmetrical face", "distorted features", "disfigured", "bad anatomy",
        "malformed ears",
    ),
    "plastic": (
        "plastic skin", "waxy skin", "airbrushed", "overly smooth skin", "artificial", "CGI",
        "doll-like", "3d render",
    ),
    "watermark": ("watermark", "text", "logo", "signature", "caption", "frame", "border"),
    "teeth-eyes": (
        "extra teeth", "mismatched eyes", "different eye sizes", "cross-eyed", "lazy eye",
        "misaligned pupils",
    ),
}  # fmt: skip
DESCRIPTIONS = {
    "blurry": "blurry / out of focus",
    "deformed": "deformed / asymmetrical",
    "plastic": "plastic / artificial skin",
    "watermark": "watermark / text",
    "teeth-eyes": "extra teeth / mismatched eyes",
}


def negative_prompt(*names: str, extra: str | None = None) -> str:
    """The terms of the named presets, then `extra`, without repeats, in order."""
    unknown = [n for n in names if n not in PRESETS]
    if unknown:
        raise InvalidInput(f"unknown negative preset {unknown[0]!r}; choose from {', '.join(PRESETS)}")
    terms = [t for n in names for t in PRESETS[n]]
    if extra:
        terms += [t.strip() for t in extra.split(",") if t.strip()]
    seen: set[str] = set()
    return ", ".join(t for t in terms if not (t.lower() in seen or seen.add(t.lower())))
