"""A photographer's brief: the parts of a portrait prompt, rendered to text and parsed back.

    brief = PortraitBrief(gender="woman", age="in her thirties", hair_colour="auburn",
                          expression="soft smile", light_direction="from the left",
                          light_quality="soft window light", focal_length_mm=85, aperture=1.4,
                          film="Kodak Portra 400", quality=["sharp focus"])
    brief.to_prompt()   # "close-up portrait photo of a woman in her thirties with auburn hair, ..."
    PortraitBrief.parse("85mm headshot of a smiling old man, rim light")  # the same parts, found

Parsing reads the words of portraitist.vocabulary (and numbers for age, focal length and aperture); what it does
not recognise is kept in `extra` so that nothing a user wrote disappears on a round trip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields

from ..vocabulary import (
    AGE_WORDS,
    DECADE_WORDS,
    ETHNICITIES,
    EXPRESSIONS,
    EYE_COLOURS,
    FEATURES,
    FILMS,
    GENDERS,
    HAIR_COLOURS,
    LIGHT_DIRECTIONS,
    LIGHT_QUALITIES,
    QUALITY,
    SHOTS,
)


@dataclass
class PortraitBrief:
    shot: str | None = None
    gender: str | None = None
    age: str | None = None  # "34-year-old", "in her thirties", "elderly"
    ethnicity: str | None = None
    hair_colour: str | None = None
    eye_colour: str | None = None
    features: list[str] = field(default_factory=list)
    expression: str | None = None
    light_direction: str | None = None
    light_quality: str | None = None
    focal_length_mm: int | None = None
    aperture: float | None = None
    film: str | None = None
    quality: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # what the parser did not recognise

    def parts(self) -> dict[str, object]:
        """The parts that are set, by name (the names the linter and prompt coverage use)."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) not in (None, [])
        }

    def to_prompt(self) -> str:
        noun = self.gender or "person"
        age = self.age or ""
        if age.endswith("-year-old") or age in AGE_WORDS:
            subject = f"{age} {noun}"
            age_tail = ""
        else:
            subject, age_tail = noun, f" {age}" if age else ""
        if self.ethnicity:
            subject = f"{self.ethnicity} {subject}"
        shot = self.shot or "close-up"
        head = f"{shot} portrait photo of {_article(subject)}{age_tail}"
        withs = []
        if self.hair_colour:
            withs.append(f"{self.hair_colour} hair")
        if self.eye_colour:
            withs.append(f"{self.eye_colour} eyes")
        withs += self.features
        if withs:
            head += " with " + _and(withs)
        return ", ".join([head, *self.finish()])

    def finish(self) -> list[str]:
        """The phrases after the subject: expression, light, camera, film, quality, extra words
        (what a style adds to a prompt)."""
        pieces = []
        if self.expression:
            pieces.append(self.expression)
        light = " ".join(p for p in (self.light_quality, self.light_direction) if p)
        if light:
            pieces.append(light)
        camera = []
        if self.focal_length_mm:
            camera.append(f"{self.focal_length_mm}mm lens")
        if self.aperture:
            camera.append(f"f/{self.aperture:g}")
        if camera:
            pieces.append(" at ".join(camera))
        if self.film:
            pieces.append(f"shot on {self.film}" if self.film[:1].isupper() else self.film)
        return pieces + self.quality + self.extra

    @classmethod
    def parse(cls, prompt: str) -> PortraitBrief:
        text = " " + " ".join(prompt.split()) + " "
        brief = cls()
        consumed: list[tuple[int, int]] = []

        def take(pattern: str) -> re.Match | None:
            """The first match that does not overlap a part already recognised."""
            regex, pos = re.compile(pattern, re.IGNORECASE), 0
            while m := regex.search(text, pos):
                if not any(a < m.end() and m.start() < b for a, b in consumed):
                    consumed.append(m.span())
                    return m
                pos = m.start() + 1  # overlapping matches too: "light from the left" -> "from the left"
            return None

        def first(options, suffix: str = "", prefix: str = "") -> str | None:
            # longest options first, so "soft window light" wins over "window light"
            for option in sorted(options, key=len, reverse=True):
                if take(rf"(?<![\w-]){prefix}{re.escape(option)}{suffix}(?![\w-])"):
                    return option
            return None

        brief.shot = first(SHOTS)
        if m := take(r"(?<![\w.])(\d{2,3})\s?mm\b(\s+lens)?"):
            brief.focal_length_mm = int(m.group(1))
        if m := take(r"(?<![\w])f\s?/\s?(\d{1,2}(?:\.\d)?)\b"):
            brief.aperture = float(m.group(1))
        if m := take(r"\b(\d{1,3})[- ]years?[- ]old\b"):
            brief.age = f"{m.group(1)}-year-old"
        elif m := take(rf"\bin (?:her|his|their) ({'|'.join(DECADE_WORDS)})\b"):
            brief.age = m.group(0).strip()
        elif m := take(r"\b(?:aged|age) (\d{1,3})\b"):
            brief.age = f"{m.group(1)}-year-old"
        else:
            brief.age = first(AGE_WORDS)
        brief.film = first(FILMS, prefix=r"(?:shot on )?")  # before colours: "black and white"
        brief.hair_colour = first(HAIR_COLOURS, suffix=r"[- ]hair(?:ed)?")
        brief.eye_colour = first(EYE_COLOURS, suffix=r"[- ]eye[sd]?")
        brief.ethnicity = first(ETHNICITIES)
        brief.features = _all(FEATURES, text, consumed)
        brief.expression = first(EXPRESSIONS)
        brief.light_quality = first(LIGHT_QUALITIES)
        brief.light_direction = first(LIGHT_DIRECTIONS, prefix=r"(?:light(?:ing|s)? )?")
        brief.quality = _all(QUALITY, text, consumed)
        for name, words in GENDERS.items():
            if any(re.search(rf"(?<![\w-]){w}(?![\w-])", text, re.IGNORECASE) for w in words):
                brief.gender = name
                break
        brief.extra = _leftovers(text, consumed)
        return brief


def _all(options, text: str, consumed: list) -> list[str]:
    found = []
    for option in sorted(options, key=len, reverse=True):
        for m in re.finditer(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text, re.IGNORECASE):
            if not any(a < m.end() and m.start() < b for a, b in consumed):
                consumed.append(m.span())
                found.append(option)
                break
    return sorted(found, key=lambda o: text.lower().find(o.lower()))


FILLER = {
    "a", "an", "the", "of", "with", "and", "in", "at", "on", "portrait", "photo", "photograph",
    "shot", "lens", "her", "his", "their", "face", "picture", "image", "light", "lighting", "hair",
    "eyes", "wearing", "by",
}  # fmt: skip


def _leftovers(text: str, consumed: list[tuple[int, int]]) -> list[str]:
    """Comma-separated chunks whose words were not recognised (ignoring filler words)."""
    keep = list(text)
    for a, b in consumed:
        keep[a:b] = " " * (b - a)
    out = []
    for chunk in "".join(keep).split(","):
        words = [w for w in re.findall(r"[\w'-]+", chunk) if w.lower() not in FILLER]
        gender_words = {w for ws in GENDERS.values() for w in ws}
        words = [w for w in words if w.lower() not in gender_words]
        if words:
            out.append(" ".join(words))
    return out


def _article(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
