"""Prompt control for the GAN: the parts of a prompt it can honour, as pushes along its W directions.

A GAN has no text encoder, so `portraitist generate --model face-gan "a smiling old man"` reads the
prompt with the brief parser and moves each face's w across the learnt attribute boundaries
(InterFaceGAN): a face that already is on the asked side is left alone; one that is not is moved
just past the average face of that side. The negative prompt names attributes to steer away from.

    wanted("portrait of a smiling woman without glasses")  # {"gender": -1, "smile": 1, "glasses": -1}
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import InvalidInput
from ..prompting.requested import requested
from .gan_directions import Directions

MARGIN = 0.25  # how far past the average face of the asked side, in units of the gap between the sides
# attribute value -> pushes along the GAN's directions (hair: the asked colour away from the other)
SIGNS = {
    ("gender", "male"): {"gender": 1}, ("gender", "female"): {"gender": -1},
    ("age", "young"): {"age": -1}, ("age", "old"): {"age": 1},
    ("smiling", True): {"smile": 1}, ("smiling", False): {"smile": -1},
    ("eyeglasses", True): {"glasses": 1}, ("eyeglasses", False): {"glasses": -1},
    ("hair", "blond"): {"blond": 1, "black_hair": -1}, ("hair", "black"): {"black_hair": 1, "blond": -1},
    ("light", "left"): {"light_left": 1}, ("light", "right"): {"light_left": -1},
    ("warm", True): {"warm": 1}, ("warm", False): {"warm": -1},
}  # fmt: skip


def wanted(prompt: str, negative_prompt: str | None = None) -> dict[str, int]:
    """direction name -> +1 (towards) or -1 (away), from what the prompt asks for and avoids
    (prompting.requested: negated phrases in the prompt count as the negative prompt does)."""
    asked = requested(prompt, negative_prompt)
    out: dict[str, int] = {}
    for attr, value in asked.avoided.items():
        if pushes := SIGNS.get((attr, value)):
            name, sign = next(iter(pushes.items()))  # away from the avoided value only
            out[name] = -sign
    for attr, value in asked.wanted.items():
        out |= SIGNS.get((attr, value), {})
    return out


def steer(
    w: torch.Tensor, directions: Directions, signs: dict[str, int], margin: float = MARGIN
) -> torch.Tensor:
    """Move each w (N, w_dim) that is on the wrong side of an asked attribute just past the average
    face of the asked side. Twice round, since the directions are not all orthogonal."""
    missing = [k for k in signs if k not in directions.sides]
    if missing:
        raise InvalidInput(f"this GAN has no {', '.join(missing)} direction to steer by (its samples never "
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
            out = out + shortfall.unsqueeze(-1) * v  # w (N, w_dim) or per-layer w (N, layers, w_dim)
    return out
