"""Captions from labels: varied, natural, prompt-like text that states only what is known.

"close-up portrait of a smiling woman in her twenties with blond hair, warm light from camera left"

The text-to-face model learns from these, so variety matters (synonyms, word order, framing) and
truth matters more: an attribute whose label is `None` is never mentioned, and a "no" is said only
sometimes ("without glasses"), since prompts rarely state absences.
"""

from __future__ import annotations

import random
from dataclasses import replace

from .data.schema import FaceLabels
from .vocabulary import DECADES, HAIR_WORDS, RACE_WORDS

FRAMINGS = (
    "portrait of",
    "close-up portrait of",
    "headshot of",
    "photo of",
    "portrait photo of",
    "close-up photo of the face of",
    "studio portrait of",
    "face of",
)
NEGATION_RATE = 0.15  # how often a known "no" is spelled out
# Labels said together: a sparse caption forgets a group whole, so it never half-states a fact
# ("wavy" without the hair, "in her twenties" without "young").
LABEL_GROUPS = (
    ("gender",),
    ("age_low", "age_high", "young"),
    ("race", "pale_skin"),
    ("smiling", "mouth_open"),
    ("hair_colour", "bald", "bangs", "wavy_hair", "straight_hair"),
    ("eyeglasses",),
    ("beard", "mustache"),
    ("makeup", "lipstick"),
    ("earrings",),
    ("necklace",),
    ("necktie",),
    ("hat",),
    ("light", "temperature", "key"),
    ("monochrome",),
)


def forget(labels: FaceLabels, keep: float, rng: random.Random) -> FaceLabels:
    """The same face with each group of labels kept with probability `keep` and the rest unknown.

    Its caption is a sparser, still true description: with nothing kept, "portrait of a person".
    Trained on such captions, a model learns what a vague prompt leaves open (every face it fits)
    instead of mapping it onto the nearest detailed caption's one look.
    """
    dropped = [name for group in LABEL_GROUPS if rng.random() >= keep for name in group]
    return replace(labels, **dict.fromkeys(dropped))


def _life_stage(labels: FaceLabels) -> str | None:
    """child / teen / adult / senior from the age range, or young / older from CelebA's flag."""
    if labels.age_low is not None and labels.age_high is not None:
        if labels.age_high <= 2:
            return "baby"
        if labels.age_high <= 12:
            return "child"
        if labels.age_high <= 19:
            return "teen"
        return "senior" if labels.age_low >= 65 else "adult"
    if labels.young is not None:
        return "young" if labels.young else "older"
    return None


def _noun(gender: str | None, stage: str | None, rng: random.Random) -> str:
    table = {
        ("female", "baby"): ("baby girl",),
        ("male", "baby"): ("baby boy",),
        (None, "baby"): ("baby", "infant"),
        ("female", "child"): ("girl", "little girl"),
        ("male", "child"): ("boy", "little boy"),
        (None, "child"): ("child", "kid"),
        ("female", "teen"): ("teenage girl", "young girl"),
        ("male", "teen"): ("teenage boy", "young boy"),
        (None, "teen"): ("teenager",),
        ("female", "senior"): ("elderly woman", "older woman", "senior woman"),
        ("male", "senior"): ("elderly man", "older man", "senior man"),
        (None, "senior"): ("elderly person", "older person"),
        ("female", "young"): ("young woman",),
        ("male", "young"): ("young man",),
        (None, "young"): ("young person", "young adult"),
        ("female", "older"): ("middle-aged woman", "mature woman", "older woman"),
        ("male", "older"): ("middle-aged man", "mature man", "older man"),
        (None, "older"): ("middle-aged person", "mature adult"),
        ("female", None): ("woman", "woman", "lady"),
        ("male", None): ("man", "man", "gentleman"),
        (None, None): ("person", "person", "individual"),
    }
    key = (gender, stage if stage != "adult" else None)
    return rng.choice(table[key])


def _age_phrase(labels: FaceLabels, rng: random.Random) -> str | None:
    """'in her twenties', 'aged 34', '34-year-old' ... for adults with a known age range."""
    lo, hi = labels.age_low, labels.age_high
    if lo is None or hi is None or hi < 20:
        return None
    pron = {"female": "her", "male": "his"}.get(labels.gender or "", "their")
    if lo == hi:  # exact age
        if lo >= 100:
            return rng.choice((f"aged {lo}", "over a hundred years old"))
        decade = DECADES.get(lo // 10 * 10)
        options = [f"aged {lo}", f"{lo} years old"]
        if decade:
            options.append(f"in {pron} {decade}")
        return rng.choice(options)
    if hi - lo == 9 and lo in DECADES:
        return rng.choice((f"in {pron} {DECADES[lo]}", f"aged {lo} to {hi}", f"in {pron} {DECADES[lo]}"))
    if lo >= 70:
        return rng.choice(("over seventy", "in old age"))
    return None


def _article(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def _details(labels: FaceLabels, rng: random.Random) -> list[str]:
    """'with ...' and 'wearing ...' phrases, in random order."""
    out: list[str] = []

    def maybe_no(flag: bool | None, yes: tuple[str, ...], no: tuple[str, ...]) -> None:
        if flag:
            out.append(rng.choice(yes))
        elif flag is False and no and rng.random() < NEGATION_RATE:
            out.append(rng.choice(no))

    if labels.bald:
        pass  # said as an adjective
    elif labels.hair_colour in HAIR_WORDS:
        hair = rng.choice(HAIR_WORDS[labels.hair_colour])
        if labels.wavy_hair and not labels.straight_hair:
            hair = "wavy " + hair
        elif labels.straight_hair and not labels.wavy_hair and rng.random() < 0.5:
            hair = "straight " + hair
        out.append("with " + hair)
    maybe_no(labels.bangs, ("with bangs", "with a fringe"), ())
    maybe_no(
        labels.eyeglasses,
        ("wearing glasses", "wearing eyeglasses", "with glasses"),
        ("without glasses", "no glasses"),
    )
    if labels.beard:
        out.append(rng.choice(("with a beard", "with a full beard", "with facial hair")))
    if labels.mustache:
        out.append(rng.choice(("with a mustache", "with a moustache")))
    if (
        labels.gender == "male"
        and labels.beard is False
        and labels.mustache is False
        and rng.random() < NEGATION_RATE
    ):
        out.append(rng.choice(("clean-shaven", "with a clean-shaven face")))
    no_makeup = ("without makeup",) if labels.gender == "female" else ()
    maybe_no(labels.makeup, ("wearing heavy makeup", "with makeup"), no_makeup)
    maybe_no(labels.lipstick, ("wearing lipstick", "with red lipstick", "with lipstick"), ())
    maybe_no(labels.earrings, ("wearing earrings", "with earrings"), ())
    maybe_no(labels.necklace, ("wearing a necklace",), ())
    maybe_no(labels.necktie, ("wearing a tie", "wearing a necktie"), ())
    maybe_no(labels.hat, ("wearing a hat", "in a hat"), ("no hat",))
    rng.shuffle(out)
    return out


def _lighting(labels: FaceLabels, rng: random.Random) -> list[str]:
    out = []
    if labels.light == "left":
        out.append(rng.choice(("light from camera left", "lit from the left", "side light from the left")))
    elif labels.light == "right":
        out.append(rng.choice(("light from camera right", "lit from the right", "side light from the right")))
    elif labels.light == "frontal" and rng.random() < 0.3:
        out.append(rng.choice(("frontal light", "even frontal lighting", "flat front light")))
    if labels.temperature == "warm":
        out.append(rng.choice(("warm light", "warm tones", "golden warm light")))
    elif labels.temperature == "cool":
        out.append(rng.choice(("cool light", "cool tones", "cold bluish light")))
    if labels.key == "low":
        out.append(rng.choice(("low-key lighting", "dark moody lighting", "low-key")))
    elif labels.key == "high":
        out.append(rng.choice(("high-key lighting", "bright high-key", "bright airy light")))
    rng.shuffle(out)
    return out


def _join(phrases: list[str]) -> str:
    """'with a, b and c': a 'with' that follows another 'with' phrase is left out."""
    out = [phrases[0]]
    for prev, cur in zip(phrases, phrases[1:], strict=False):
        out.append(cur.removeprefix("with ") if prev.startswith("with ") and cur.startswith("with ") else cur)
    return ", ".join(out[:-1]) + " and " + out[-1] if len(out) > 1 else out[0]


def caption(labels: FaceLabels, rng: random.Random | int | None = None) -> str:
    """One caption for `labels`; pass a seeded `random.Random` (or a seed) for repeatable text."""
    if not isinstance(rng, random.Random):
        rng = random.Random(rng)
    adjectives = []
    if labels.smiling:
        adjectives.append(rng.choice(("smiling", "smiling", "happy", "cheerful")))
    elif labels.smiling is False and rng.random() < 0.5:
        adjectives.append(rng.choice(("serious", "neutral-faced", "unsmiling")))
    if labels.bald:
        adjectives.append("bald")
    if labels.race in RACE_WORDS:
        adjectives.append(rng.choice(RACE_WORDS[labels.race]))
    stage = _life_stage(labels)
    subject = " ".join([*adjectives, _noun(labels.gender, stage, rng)])
    age = _age_phrase(labels, rng)
    if age and age[0].isdigit():  # "34 years old" reads better after the noun
        subject = f"{subject}, {age}"
    elif age:
        subject = f"{subject} {age}"
    head = f"{rng.choice(FRAMINGS)} {_article(subject)}"
    if labels.monochrome:
        head = rng.choice(("black and white ", "monochrome ")) + head
    details = _details(labels, rng)
    if labels.smiling and labels.mouth_open and rng.random() < 0.5:
        details.insert(0, rng.choice(("with an open-mouthed smile", "with a toothy grin")))
    elif labels.smiling is False and labels.mouth_open is False and rng.random() < 0.3:
        details.insert(0, "with a closed mouth")
    body = head
    if details:
        body += " " + _join(details)
    light = _lighting(labels, rng)
    if light:
        body += ", " + ", ".join(light)
    return body
