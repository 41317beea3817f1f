"""Prompting help: the photographer's brief, a prompt linter and negative-prompt presets."""

from .brief import PortraitBrief
from .lint import Hint, lint
from .negatives import PRESETS, negative_prompt

__all__ = ["PRESETS", "Hint", "PortraitBrief", "lint", "negative_prompt"]
