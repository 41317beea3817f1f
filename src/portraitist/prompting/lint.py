"""A prompt linter: flags vague prompts and says, part by part, what is missing or contradictory.

for hint in lint("a portrait of a woman"):
    print(hint)   # "missing: age — add e.g. 'in her thirties' or '34-year-old'" ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..vocabulary import HAIR_GROUPS, NEGATION, NOT_SMILING, SMILING
from .brief import PortraitBrief

SUGGESTIONS = {
    "age": "add an age, e.g. 'in her thirties', '34-year-old' or 'elderly'",
    "hair_colour": "name the hair, e.g. 'auburn hair', 'short black hair'",
    "expression": "give an expression, e.g. 'soft smile', 'serious', 'laughing'",
    "lighting": "describe the light, e.g. 'soft window light from the left', 'rim light'",
    "camera": "name the framing or lens, e.g. 'close-up, 85mm lens at f/1.8'",
    "quality": "add a finish, e.g. 'sharp focus, natural skin texture' or a film stock",
    "subject": "say who: 'a woman', 'an elderly man', 'a teenage girl'",
}
VAGUE_WORDS = ("beautiful", "nice", "good", "pretty", "amazing", "perfect", "cool", "interesting")
CONFLICTS = ((SMILING, NOT_SMILING - {"calm", "pensive", "contemplative"}, "expression"),)
CLIP_TOKEN_LIMIT = 77


@dataclass(frozen=True)
class Hint:
    part: str
    severity: str  # "missing" | "vague" | "conflict" | "move" | "long"
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.part} — {self.message}"


def lint(prompt: str) -> list[Hint]:
    brief = PortraitBrief.parse(prompt)
    parts = brief.parts()
    hints: list[Hint] = []
    words = re.findall(r"[\w'-]+", prompt)
    if len(words) < 8:
        hints.append(
            Hint(
                "prompt",
                "vague",
                f"only {len(words)} words: a model fills every unstated part with its average face",
            )
        )
    if "gender" not in parts and not brief.age:
        hints.append(Hint("subject", "missing", SUGGESTIONS["subject"]))
    for part in ("age", "hair_colour", "expression"):
        if part not in parts:
            hints.append(Hint(part, "missing", SUGGESTIONS[part]))
    if not (brief.light_direction or brief.light_quality):
        hints.append(Hint("lighting", "missing", SUGGESTIONS["lighting"]))
    if not (brief.shot or brief.focal_length_mm or brief.aperture):
        hints.append(Hint("camera", "missing", SUGGESTIONS["camera"]))
    if not (brief.quality or brief.film):
        hints.append(Hint("quality", "missing", SUGGESTIONS["quality"]))
    for word in VAGUE_WORDS:
        if re.search(rf"\b{word}\b", prompt, re.IGNORECASE):
            hints.append(
                Hint(
                    "wording",
                    "vague",
                    f"'{word}' says little; name what makes it so (light, skin, expression)",
                )
            )
    found = {p.lower() for p in [brief.expression or ""] + re.findall(r"[\w-]+(?: smile)?", prompt.lower())}
    for a, b, part in CONFLICTS:
        if found & a and found & b:
            hints.append(
                Hint(part, "conflict", f"asks for both {sorted(found & a)[0]!r} and {sorted(found & b)[0]!r}")
            )
    hair_words = "|".join(sorted((w for ws in HAIR_GROUPS.values() for w in ws), key=len, reverse=True))
    hair = re.findall(rf"\b({hair_words}|red|auburn|ginger)[- ]hair", prompt, re.IGNORECASE)
    groups = {next((g for g, ws in HAIR_GROUPS.items() if h.lower() in ws), h.lower()) for h in hair}
    if len(groups) > 1:
        hints.append(Hint("hair_colour", "conflict", f"names several hair colours: {', '.join(hair)}"))
    for m in NEGATION.finditer(prompt):
        hints.append(
            Hint(
                "negation",
                "move",
                f"'{m.group(0).strip()}': text encoders read the noun, not the 'no'; put '{m.group(1).strip()}' in the negative prompt",
            )
        )
    if len(words) * 1.3 > CLIP_TOKEN_LIMIT:
        hints.append(
            Hint(
                "prompt",
                "long",
                f"about {round(len(words) * 1.3)} tokens: CLIP-based models read only the first {CLIP_TOKEN_LIMIT}; put the important parts first",
            )
        )
    return hints
