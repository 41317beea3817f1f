"""The words a portrait prompt may use, in one place: the brief parser, the linter, the captions the
models learn from, GAN steering, adherence scoring and the model cards all read them from here, so
"never smiling" means the same to every part of the project.

- Brief parts: the recognised values of each part of a photographer's brief.
- Attribute values: which words name which checkable attribute value (smiling, blond, old ...).
- Age bands: where "young" ends and "old" begins, in years and in words.
- Negations: "without glasses", "never smiling" and how they are moved to the negative prompt.
"""

from __future__ import annotations

import re

# ---------------------------------------------------------------------------- brief parts

SHOTS = ("extreme close-up", "close-up", "headshot", "head and shoulders", "half-length")
GENDERS = {
    "woman": ("woman", "women", "female", "lady", "girl"),
    "man": ("man", "men", "male", "gentleman", "boy", "guy"),
    "person": ("person", "non-binary person", "individual"),
}
AGE_WORDS = (
    "baby", "child", "teenage", "young", "middle-aged", "mature", "elderly", "old", "senior",
)  # fmt: skip
DECADE_WORDS = ("twenties", "thirties", "forties", "fifties", "sixties", "seventies", "eighties", "nineties")
ETHNICITIES = (
    "East Asian", "Southeast Asian", "South Asian", "Indian", "Middle Eastern", "Black", "African",
    "African-American", "white", "Caucasian", "Latina", "Latino", "Hispanic", "Native American",
    "Pacific Islander", "mixed-race",
)  # fmt: skip
HAIR_COLOURS = (
    "platinum blond", "strawberry blond", "blond", "blonde", "fair", "black", "jet-black", "dark black",
    "dark brown", "brown", "brunette", "chestnut", "light brown", "auburn", "red", "ginger", "copper",
    "grey", "gray", "silver", "white",
)  # fmt: skip
EYE_COLOURS = ("blue", "green", "brown", "dark brown", "hazel", "grey", "gray", "amber")
FEATURES = (
    "freckles", "beard", "full beard", "stubble", "moustache", "mustache", "eyeglasses", "glasses",
    "spectacles", "sunglasses", "earrings", "dimples", "wrinkles", "a scar", "tattoos", "braces",
    "makeup", "red lipstick", "bangs", "curly hair", "wavy hair", "straight hair", "a hat",
    "a headscarf", "bald head", "laugh lines",
)  # fmt: skip
EXPRESSIONS = (
    "soft smile", "broad smile", "smiling", "laughing", "happy", "cheerful", "serious",
    "neutral expression", "neutral-faced", "unsmiling", "pensive", "contemplative", "confident",
    "surprised", "sad", "angry", "calm", "playful", "stern",
)  # fmt: skip
LIGHT_DIRECTIONS = (
    "from the left", "from the right", "from above", "from below", "from behind", "front light",
    "side light", "backlit", "rim light", "Rembrandt lighting", "butterfly lighting",
    "split lighting", "loop lighting",
)  # fmt: skip
LIGHT_QUALITIES = (
    "soft window light", "window light", "golden hour", "blue hour", "overcast light",
    "soft light", "hard light", "diffused light", "studio lighting", "natural light",
    "dramatic lighting", "low-key lighting", "high-key lighting", "candlelight", "neon light",
)  # fmt: skip
FILMS = (
    "Kodak Portra 400", "Kodak Portra 800", "Kodak Ektar 100", "Kodak Tri-X 400", "Fujifilm Pro 400H",
    "Fujifilm Velvia 50", "Ilford HP5", "Cinestill 800T", "black and white", "monochrome",
    "teal and orange grade", "cinematic colour grade", "warm colour grade", "cool colour grade",
    "muted tones", "film grain",
)  # fmt: skip
QUALITY = (
    "sharp focus", "highly detailed", "natural skin texture", "professional photography",
    "award-winning", "8k", "4k", "high resolution", "photorealistic", "shallow depth of field",
    "bokeh",
)  # fmt: skip

# ---------------------------------------------------------------------------- attribute values

SMILING = frozenset({"soft smile", "broad smile", "smiling", "laughing", "happy", "cheerful", "playful"})
NOT_SMILING = frozenset(
    {"serious", "neutral expression", "neutral-faced", "unsmiling", "pensive", "contemplative", "sad",
     "angry", "calm", "stern"}
)  # fmt: skip
GLASSES = frozenset({"glasses", "eyeglasses", "spectacles"})
# hair words -> the hair colour labels the data and the attribute classifier know
HAIR_GROUPS = {
    "blond": frozenset({"blond", "blonde", "platinum blond", "strawberry blond", "fair"}),
    "black": frozenset({"black", "jet-black", "dark black"}),
    "brown": frozenset({"brown", "dark brown", "light brown", "brunette", "chestnut"}),
    "gray": frozenset({"grey", "gray", "silver", "white"}),
}
LIGHT_SIDES = {"from the left": "left", "from the right": "right"}
WARM = frozenset({"golden hour", "candlelight", "warm colour grade"})
COOL = frozenset({"blue hour", "cool colour grade"})
MONOCHROME = frozenset({"black and white", "monochrome"})

# ---------------------------------------------------------------------------- age bands

YOUNG_MAX = 35  # under this many years is "young"
OLD_MIN = 50  # this many years and over is "old"; between the two, "middle"
AGE_WORD_BANDS = {
    "baby": "young", "child": "young", "teenage": "young", "young": "young",
    "middle-aged": "old", "mature": "old", "elderly": "old", "old": "old", "senior": "old",
}  # fmt: skip
DECADE_BANDS = {"twenties": "young", "thirties": "young", "forties": "middle"} | {
    d: "old" for d in DECADE_WORDS[3:]
}


def age_band(years: float) -> str:
    """'young', 'middle' or 'old' for an age in years."""
    return "young" if years < YOUNG_MAX else "old" if years >= OLD_MIN else "middle"


def age_band_of(phrase: str | None) -> str | None:
    """The band of a brief's age ("34-year-old", "in her sixties", "elderly"); None if unknown."""
    if not phrase:
        return None
    if m := re.match(r"(\d+)", phrase):
        return age_band(int(m.group(1)))
    for word in phrase.lower().split():
        if band := AGE_WORD_BANDS.get(word) or DECADE_BANDS.get(word):
            return band
    return None


# ---------------------------------------------------------------------------- negations

# "without glasses", "with no beard", "not smiling", "never smiling": up to the next comma or "and"
NEGATION = re.compile(
    r"(?:\bwith\s+)?\b(?:no|without|not|never)\s+(?:wearing\s+)?([a-z][\w -]{1,30}?)\s*(?=,|$|\band\b)", re.I
)


def split_negations(prompt: str) -> tuple[str, list[str]]:
    """Move negated phrases out of a prompt: "a person without glasses" -> ("a person", ["glasses"]).

    A sentence encoder reads "without glasses" close to "glasses" (measured: the shipped model drew
    glasses on 32% of faces asked for none), so the phrase works as a negative prompt instead."""
    negated = [m.group(1).strip() for m in NEGATION.finditer(prompt)]
    if not negated:
        return prompt, []
    rest = NEGATION.sub("", prompt)
    rest = re.sub(r"\s+,", ",", re.sub(r"\s{2,}", " ", rest))
    rest = re.sub(r"(,\s*)+(,|$)", r"\2", rest).strip(" ,")
    rest = re.sub(r"\b(and|with)\s*$", "", rest).strip(" ,")
    return rest or prompt, negated


# ---------------------------------------------------------------------------- caption synonyms

# How captions name labels; the words are in the brief's lists above, so the parser reads captions.
RACE_WORDS = {
    "white": ("white", "Caucasian"),
    "black": ("Black", "African-descent"),
    "east_asian": ("East Asian",),
    "southeast_asian": ("Southeast Asian",),
    "indian": ("Indian", "South Asian"),
    "middle_eastern": ("Middle Eastern",),
    "latino_hispanic": ("Latino", "Hispanic"),
    "asian": ("Asian",),
}  # "other" is a label, not a description: never written
HAIR_WORDS = {
    "blond": ("blond hair", "blonde hair", "fair hair"),
    "black": ("black hair", "dark black hair", "jet-black hair"),
    "brown": ("brown hair", "brunette hair", "chestnut hair"),
    "gray": ("gray hair", "grey hair", "silver hair"),
}
DECADES = {10 * (k + 2): word for k, word in enumerate(DECADE_WORDS)}

# ---------------------------------------------------------------------------- edits

# What the studio's sliders and `portraitist edit --direction NAME=S` call each edit; a GAN names
# some of its directions otherwise (its own names work too).
EDITS = ("age", "smile", "hair", "glasses", "light", "warmth", "gender")
GAN_DIRECTION_OF_EDIT = {"hair": "blond", "light": "light_left", "warmth": "warm"}
