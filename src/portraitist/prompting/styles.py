"""Styles: named looks (brief parts and negative prompts) kept as plain TOML files.

    portraitist generate "portrait of a woman in her thirties" --style film-noir
    portraitist styles [--model face-gan]          # each style, and what a model cannot honour of it

A style adds its phrases (expression, light, camera, film, finish) to the prompt where the prompt
does not already say them (the user's own words win), and its negative presets and terms to the
negative prompt. Applying a style twice changes nothing, so an image's saved settings (the prompt
already styled) regenerate exactly. Shipped styles live in portraitist/styles/; users add their
own, or override one by name, as NAME.toml in $PORTRAITIST_STYLES or ~/.config/portraitist/styles/:

    title = "Film noir"
    description = "Hard low-key light from one side, black and white"
    [brief]                       # any of the parts in STYLE_PARTS
    light_quality = "low-key lighting"
    film = "black and white"
    quality = ["high contrast"]
    [negative]
    presets = ["blurry"]          # prompting.negatives.PRESETS
    text = "smiling, colour"
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..errors import InvalidInput
from .brief import PortraitBrief
from .negatives import PRESETS, negative_prompt

BUILT_IN = Path(__file__).resolve().parent.parent / "styles"
STYLE_PARTS = (
    "expression",
    "light_direction",
    "light_quality",
    "focal_length_mm",
    "aperture",
    "film",
    "quality",
)
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


@dataclass(frozen=True)
class Style:
    name: str
    title: str
    description: str
    brief: PortraitBrief
    presets: tuple[str, ...] = ()
    negative: str = ""
    source: str = ""  # the file it came from
    parts: dict = field(default_factory=dict)  # the brief parts as written

    def apply(self, prompt: str, negative: str | None) -> tuple[str, str | None]:
        """The prompt with this style's phrases the prompt does not already have, and the negative
        prompt with its presets and terms (no repeats)."""
        own = PortraitBrief.parse(prompt).parts()
        missing = {k: v for k, v in self.parts.items() if k not in own or k == "quality"}
        said = prompt.lower()
        phrases = [p for p in PortraitBrief(**missing).finish() if p.lower() not in said]
        styled = ", ".join([prompt.rstrip(" ,"), *phrases]) if phrases else prompt
        # a style's negative term the prompt asks for ("smiling" in a smiling portrait) is dropped
        own_terms = [
            t.strip() for t in self.negative.split(",") if t.strip() and t.strip().lower() not in said
        ]
        extra = ", ".join(filter(None, [negative, *own_terms]))
        return styled, (negative_prompt(*self.presets, extra=extra) or None)

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "description": self.description,
                "prompt_parts": self.parts, "negative_presets": list(self.presets),
                "negative": self.negative, "source": self.source}  # fmt: skip


def user_folder() -> Path:
    if os.environ.get("PORTRAITIST_STYLES"):
        return Path(os.environ["PORTRAITIST_STYLES"])
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "portraitist" / "styles"


def read_style(path: Path) -> Style:
    """One style file; InvalidInput naming the file and what is wrong in it."""
    name = path.stem
    if not NAME.match(name):
        raise InvalidInput(f"style file {path}: name it with lower-case letters, digits and dashes")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InvalidInput(f"style file {path} cannot be read: {e}") from None
    parts = dict(data.get("brief", {}))
    unknown = set(parts) - set(STYLE_PARTS)
    if unknown:
        raise InvalidInput(
            f"style file {path}: unknown part {sorted(unknown)[0]!r}; parts: {', '.join(STYLE_PARTS)}"
        )
    kinds = {f.name: f.type for f in fields(PortraitBrief)}
    for key, value in parts.items():
        wants_list = "list" in str(kinds[key])
        if wants_list != isinstance(value, list) or (
            wants_list and not all(isinstance(v, str) for v in value)
        ):
            raise InvalidInput(
                f"style file {path}: {key} must be {'a list of texts' if wants_list else 'one value'}"
            )
    negative = data.get("negative", {})
    presets = tuple(negative.get("presets", ()))
    unknown = [p for p in presets if p not in PRESETS]
    if unknown:
        raise InvalidInput(
            f"style file {path}: unknown negative preset {unknown[0]!r}; choose from {', '.join(PRESETS)}"
        )
    return Style(name, str(data.get("title", name)), str(data.get("description", "")), PortraitBrief(**parts),
                 presets, str(negative.get("text", "")), str(path), parts)  # fmt: skip


def styles() -> dict[str, Style]:
    """Every style by name: the shipped ones, then the user's (which override a shipped name)."""
    found = {}
    for folder in (BUILT_IN, user_folder()):
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            style = read_style(path)
            found[style.name] = style
    return found


def style(name: str) -> Style:
    known = styles()
    if name not in known:
        raise InvalidInput(
            f"unknown style {name!r}; choose from {', '.join(known)} (or add {user_folder()}/{name}.toml)"
        )
    return known[name]
