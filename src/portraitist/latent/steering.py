"""Prompt control for the GAN: the parts of a prompt it can honour, as pushes along its W directions.

A GAN has no text encoder, so `portraitist generate --model face-gan "a smiling old man"` reads the
prompt with the brief parser and moves each face's w across the learnt attribute boundaries
(InterFaceGAN): a face that already is on the asked side is left alone; one that is not is moved
just past the average face of that side. The negative prompt names attributes to steer away from.

    wanted("portrait of a smiling woman without glasses")  # {"gender": -1, "smile": 1, "glasses": -1}
"""

from __future__ import annotations

import re

import numpy as np
import torch

from ..prompting.brief import PortraitBrief
from .gan_directions import Directions

YOUNG = {"baby", "child", "teenage", "young", "twenties", "thirties"}
OLD = {"middle-aged", "mature", "elderly", "old", "senior", "fifties", "sixties", "seventies", "eighties",
       "nineties"}  # fmt: skip
SMILING = {"soft smile", "broad smile", "smiling", "laughing", "playful"}
NOT_SMILING = {"serious", "neutral expression", "pensive", "contemplative", "sad", "angry", "calm", "stern"}
BLOND = {"blond", "blonde", "platinum blond", "strawberry blond"}
WARM = {"golden hour", "candlelight", "warm colour grade"}
COOL = {"blue hour", "cool colour grade"}
NEGATION = re.compile(
    r"\b(?:without|no|not wearing)\s+((?:eye)?glasses|smile|smiling|beard|blond(?:e)? hair)\b", re.I
)
MARGIN = 0.25  # how far past the average face of the asked side, in units of the gap between the sides


def _age_sign(age: str | None) -> int:
    if not age:
        return 0
    if m := re.match(r"(\d+)", age):
        years = int(m.group(1))
        return -1 if years < 35 else 1 if years >= 45 else 0
    words = set(age.replace("in her ", "").replace("in his ", "").replace("in their ", "").split())
    return -1 if words & YOUNG else 1 if words & OLD else 0


def _signs(brief: PortraitBrief) -> dict[str, int]:
    out: dict[str, int] = {}
    if brief.gender in ("man", "woman"):
        out["gender"] = 1 if brief.gender == "man" else -1
    if age := _age_sign(brief.age):
        out["age"] = age
    if brief.expression in SMILING:
        out["smile"] = 1
    elif brief.expression in NOT_SMILING:
        out["smile"] = -1
    if {"glasses", "eyeglasses"} & set(brief.features):
        out["glasses"] = 1
    if brief.hair_colour in BLOND:
        out |= {"blond": 1, "black_hair": -1}
    elif brief.hair_colour == "black":
        out |= {"black_hair": 1, "blond": -1}
    if brief.light_direction in ("from the left", "from the right"):
        out["light_left"] = 1 if brief.light_direction == "from the left" else -1
    tones = {brief.light_quality, brief.film}
    if tones & WARM:
        out["warm"] = 1
    elif tones & COOL:
        out["warm"] = -1
    return out


def wanted(prompt: str, negative_prompt: str | None = None) -> dict[str, int]:
    """direction name -> +1 (towards) or -1 (away), from the prompt and the negative prompt.
    "without glasses" / "no smile" in the prompt count as the negative prompt would."""
    negated = " ".join(m.group(1) for m in NEGATION.finditer(prompt))
    positive = _signs(PortraitBrief.parse(NEGATION.sub(" ", prompt)))
    away = {k: -v for k, v in _signs(PortraitBrief.parse(f"{negated} {negative_prompt or ''}")).items()}
    if re.search(r"\b(smile|smiling)\b", f"{negated} {negative_prompt or ''}", re.I):
        away["smile"] = -1  # the parser reads "smile" alone as no expression
    if re.search(r"\bblond", negated, re.I):
        away["blond"] = -1
    return away | positive  # what the prompt asks for wins over what the negative prompt avoids


def steer(
    w: torch.Tensor, directions: Directions, signs: dict[str, int], margin: float = MARGIN
) -> torch.Tensor:
    """Move each w (N, w_dim) that is on the wrong side of an asked attribute just past the average
    face of the asked side. Twice round, since the directions are not all orthogonal."""
    missing = [k for k in signs if k not in directions.sides]
    if missing:
        raise ValueError(f"this GAN has no {', '.join(missing)} direction to steer by (its samples never "
                         f"showed it); it can steer: {', '.join(directions.sides) or 'nothing'}")  # fmt: skip
    out = w.clone()
    for _ in range(2):
        for name, sign in signs.items():
            v = torch.from_numpy(np.asarray(directions.vectors[name], np.float32))
            neg, pos = directions.sides[name]
            gap = pos - neg
            target = pos + margin * gap if sign > 0 else neg - margin * gap
            proj = out @ v
            shortfall = (target - proj).clamp(min=0) if sign > 0 else (target - proj).clamp(max=0)
            out = out + shortfall[:, None] * v
    return out
