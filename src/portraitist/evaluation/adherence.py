"""Attribute adherence: did the face come out as the prompt asked?

A prompt (and its negative prompt) is read for the attributes the instruments can check: gender,
smile, eyeglasses, hair colour, young/old. A negative prompt's attribute counts as asked to be
absent. Each request is compared with independent classifiers (predictors.py).
"""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np

from ..data.schema import CELEBA_ATTRIBUTES
from .predictors import Predictions

YOUNG_MAX, OLD_MIN = 35, 50  # predicted years that count as "young" / "old"

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

_WORDS = {
    ("gender", "female"): r"\b(woman|women|female|girl|lady|ladies)\b",
    ("gender", "male"): r"\b(man|men|male|boy|gentleman|guy)\b",
    ("smiling", True): r"\b(smil\w*|happy|laugh\w*|grin\w*|cheerful)\b",
    ("smiling", False): r"\b(serious|neutral[- ]faced|neutral expression|unsmiling|stern|not smiling)\b",
    ("eyeglasses", True): r"\b(glasses|eyeglasses|spectacles)\b",
    ("hair", "blond"): r"\b(blond|blonde)\b",
    ("hair", "black"): r"\b(black|jet-black|dark black) hair",
    ("hair", "brown"): r"\b(brown|brunette|chestnut)\b",
    ("hair", "gray"): r"\b(gr[ae]y|silver|white)[- ]hair",
    ("age", "young"): r"\b(young|youthful|teen\w*|twenties|20s)\b",
    ("age", "old"): r"\b(old|older|elderly|senior|aged|sixties|seventies|eighties|60s|70s|80s)\b",
}
_NO_GLASSES = r"\b(without|no) (eye)?glasses\b"


def requested(prompt: str, negative: str = "") -> dict[str, object]:
    """The checkable attributes a prompt asks for, e.g. {"gender": "female", "eyeglasses": False}."""
    text, neg = prompt.lower(), negative.lower()
    out: dict[str, object] = {}
    for (attr, value), pattern in _WORDS.items():
        if re.search(pattern, text) and attr not in out:
            if attr == "age" and value == "old" and re.search(r"\b\d+ years old\b|\byears old\b", text):
                continue  # "34 years old" is an age, not "old"
            out[attr] = value
    if re.search(_NO_GLASSES, text):
        out["eyeglasses"] = False
    if "eyeglasses" not in out and re.search(_WORDS[("eyeglasses", True)], neg):
        out["eyeglasses"] = False
    if "smiling" not in out and re.search(_WORDS[("smiling", True)], neg):
        out["smiling"] = False
    return out


def observed(pred: Predictions, i: int) -> dict[str, object]:
    """What the classifiers see in sample i, in the same vocabulary as `requested`."""
    out: dict[str, object] = {}
    if pred.gender[i]:
        out["gender"] = "female" if str(pred.gender[i]).lower().startswith("f") else "male"
    if np.isfinite(pred.age[i]):
        out["age"] = "young" if pred.age[i] < YOUNG_MAX else "old" if pred.age[i] >= OLD_MIN else "middle"
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
        for attr, value in requested(p, n).items():
            if attr in seen:
                tally[f"{attr}={value}"].append(seen[attr] == value)
    rows = {k: {"n": len(v), "rate": float(np.mean(v))} for k, v in sorted(tally.items())}
    hits = [x for v in tally.values() for x in v]
    return {"by_request": rows, "overall": float(np.mean(hits)) if hits else None, "checked": len(hits)}
