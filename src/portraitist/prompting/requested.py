"""What a prompt asks of a face, in attribute values the instruments can check and the GAN can steer:

    requested("portrait of a smiling old man, never wearing glasses", "blond hair")
    # Requested(wanted={"gender": "male", "age": "old", "smiling": True},
    #           avoided={"eyeglasses": True, "hair": "blond"})

Attributes: gender (male / female), age (young / middle / old, vocabulary.age_band_of), smiling,
eyeglasses, hair (blond / black / brown / gray), light (left / right), warm. Negated phrases in the
prompt ("without glasses", "never smiling") count as the negative prompt does. GAN steering
(latent/steering.py) and adherence scoring (evaluation/adherence.py) both read prompts through this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .. import vocabulary as vocab
from .brief import PortraitBrief


@dataclass(frozen=True)
class Requested:
    wanted: dict[str, object] = field(default_factory=dict)
    avoided: dict[str, object] = field(default_factory=dict)


def attributes(brief: PortraitBrief) -> dict[str, object]:
    """The checkable attribute values a parsed brief names."""
    out: dict[str, object] = {}
    if brief.gender in ("man", "woman"):
        out["gender"] = "male" if brief.gender == "man" else "female"
    if band := vocab.age_band_of(brief.age):
        out["age"] = band
    if brief.expression in vocab.SMILING:
        out["smiling"] = True
    elif brief.expression in vocab.NOT_SMILING:
        out["smiling"] = False
    if vocab.GLASSES & set(brief.features):
        out["eyeglasses"] = True
    for group, words in vocab.HAIR_GROUPS.items():
        if brief.hair_colour in words:
            out["hair"] = group
    if side := vocab.LIGHT_SIDES.get(brief.light_direction or ""):
        out["light"] = side
    tones = {brief.light_quality, brief.film}
    if tones & vocab.WARM:
        out["warm"] = True
    elif tones & vocab.COOL:
        out["warm"] = False
    return out


def _avoided(text: str) -> dict[str, object]:
    """Attributes named in a negative prompt, which is a list of things rather than a sentence:
    "smile" and "blond" count there without "smiling" or "hair"."""
    out = attributes(PortraitBrief.parse(text))
    if re.search(r"\bsmil", text, re.I):
        out["smiling"] = True
    for group, words in vocab.HAIR_GROUPS.items():
        if "hair" not in out and group != "gray" and any(re.search(rf"\b{w}\b", text, re.I) for w in words):
            out["hair"] = group
    return out


def requested(prompt: str, negative_prompt: str | None = None) -> Requested:
    rest, negated = vocab.split_negations(prompt)
    wanted = attributes(PortraitBrief.parse(rest))
    avoided = _avoided(", ".join([*negated, negative_prompt or ""]))
    # what the prompt asks for wins over what the negative prompt avoids
    return Requested(wanted, {k: v for k, v in avoided.items() if k not in wanted})
