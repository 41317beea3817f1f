"""Attribute adherence: did the face come out as the prompt asked?

A prompt (and its negative prompt) is read for the attributes the instruments can check (gender,
smile, eyeglasses, hair colour, age band) by prompting.requested, the reader GAN steering uses too.
A negative prompt's attribute counts as asked to be absent. Each request is compared with independent classifiers (predictors.py).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..data.schema import CELEBA_ATTRIBUTES
from ..prompting.requested import requested as requested_attributes
from ..vocabulary import age_band
from .predictors import Predictions

# The adherence test: one prompt per attribute value, the same for every model.
ADHERENCE_PROMPTS = {
    "man": "portrait photo of a man",
    "woman": "portrait photo of a woman",
    "smiling": "portrait photo of a smiling person",
    "serious": "portrait photo of a serious person",
    "eyeglasses": "portrait photo of a person wearing glasses",
    "no eyeglasses": "portrait photo of a person without glasses",
    "blond": "portrait photo of a person with blond hair",
    "black hair": "portrait photo of a person with black hair",
    "young": "portrait photo of a young person",
    "old": "portrait photo of an elderly person",
}


def requested(prompt: str, negative: str = "") -> dict[str, object]:
    """The checkable attributes a prompt asks for, as request keys: {"gender": "female",
    "eyeglasses": False, "hair!": "blond"} (a key ending in "!" asks for anything but that value)."""
    asked = requested_attributes(prompt, negative)
    out = dict(asked.wanted)
    for attr, value in asked.avoided.items():
        out[attr] = (not value) if isinstance(value, bool) else value
        if not isinstance(value, bool):
            out[f"{attr}!"] = out.pop(attr)
    return out


def observed(pred: Predictions, i: int) -> dict[str, object]:
    """What the classifiers see in sample i, in the same vocabulary as `requested`."""
    out: dict[str, object] = {}
    if pred.gender[i]:
        out["gender"] = "female" if str(pred.gender[i]).lower().startswith("f") else "male"
    if np.isfinite(pred.age[i]):
        out["age"] = age_band(pred.age[i])
    if np.isfinite(pred.smile[i]):
        out["smiling"] = bool(pred.smile[i] >= 0.5)
    p = dict(zip(CELEBA_ATTRIBUTES, pred.celeba[i], strict=True))
    out["eyeglasses"] = bool(p["Eyeglasses"] >= 0.5)
    hair = {c: p[f"{c.capitalize()}_Hair"] for c in ("black", "blond", "brown", "gray")}
    out["hair"] = max(hair, key=hair.get)
    return out


def adherence(prompts: list[str], negatives: list[str], pred: Predictions) -> dict:
    """Per requested attribute value: how many samples asked for it and what share got it."""
    tally: dict[str, list[bool]] = defaultdict(list)
    for i, (p, n) in enumerate(zip(prompts, negatives, strict=True)):
        seen = observed(pred, i)
        for key, value in requested(p, n).items():
            attr = key.rstrip("!")
            if attr in seen:
                hit = seen[attr] != value if key.endswith("!") else seen[attr] == value
                tally[f"{attr}{'!=' if key.endswith('!') else '='}{value}"].append(hit)
    rows = {k: {"n": len(v), "rate": float(np.mean(v))} for k, v in sorted(tally.items())}
    hits = [x for v in tally.values() for x in v]
    return {"by_request": rows, "overall": float(np.mean(hits)) if hits else None, "checked": len(hits)}
