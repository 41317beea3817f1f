"""One attribute schema for every face dataset.

CelebA, FairFace and UTKFace label different things in different vocabularies. Every reader maps
its rows into `FaceLabels`, where a field a dataset does not label stays `None` ("unknown"), so
that captions and filters never claim what nobody measured.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields, replace

GENDERS = ("female", "male")
FAIRFACE_RACES = (
    "white",
    "black",
    "east_asian",
    "southeast_asian",
    "indian",
    "middle_eastern",
    "latino_hispanic",
)
RACES = FAIRFACE_RACES + ("asian", "other")  # plus UTKFace's coarser groups
HAIR_COLOURS = ("black", "blond", "brown", "gray")
LIGHT_DIRECTIONS = ("left", "frontal", "right")
TEMPERATURES = ("cool", "neutral", "warm")
KEYS = ("low", "normal", "high")
SPLITS = ("train", "valid", "test")

# FairFace's official age bins, as (low, high) years.
AGE_BINS = {
    "0-2": (0, 2),
    "3-9": (3, 9),
    "10-19": (10, 19),
    "20-29": (20, 29),
    "30-39": (30, 39),
    "40-49": (40, 49),
    "50-59": (50, 59),
    "60-69": (60, 69),
    "more than 70": (70, 100),
}


@dataclass(frozen=True)
class FaceLabels:
    """What is known about one face. `None` means unknown, never "no"."""

    gender: str | None = None
    age_low: int | None = None  # years; equal to age_high when the exact age is known
    age_high: int | None = None
    young: bool | None = None  # CelebA's coarse "Young" when no age in years is known
    race: str | None = None
    smiling: bool | None = None
    mouth_open: bool | None = None
    hair_colour: str | None = None
    bald: bool | None = None
    bangs: bool | None = None
    wavy_hair: bool | None = None
    straight_hair: bool | None = None
    eyeglasses: bool | None = None
    beard: bool | None = None
    mustache: bool | None = None
    makeup: bool | None = None
    lipstick: bool | None = None
    earrings: bool | None = None
    necklace: bool | None = None
    necktie: bool | None = None
    hat: bool | None = None
    pale_skin: bool | None = None
    # Measured from pixels (see pixel_attributes.py), known for every image in a cache.
    light: str | None = None
    temperature: str | None = None
    key: str | None = None
    monochrome: bool | None = None

    @property
    def age(self) -> float | None:
        """Best single estimate of age in years (mid-bin for a range)."""
        if self.age_low is None or self.age_high is None:
            return None
        return (self.age_low + self.age_high) / 2

    @property
    def facial_hair(self) -> bool | None:
        if self.beard is None and self.mustache is None:
            return None
        return bool(self.beard) or bool(self.mustache)

    def known(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def get(self, name: str) -> object:
        """A field or derived property by name (`age`, `facial_hair` included)."""
        if name not in LABEL_NAMES:
            raise KeyError(f"unknown label {name!r}; known labels: {', '.join(LABEL_NAMES)}")
        return getattr(self, name)

    def mirrored(self) -> FaceLabels:
        """Labels of the horizontally flipped image: only the light direction changes side."""
        swap = {"left": "right", "right": "left"}
        return replace(self, light=swap.get(self.light, self.light)) if self.light else self


LABEL_NAMES = tuple(f.name for f in fields(FaceLabels)) + ("age", "facial_hair")


class LabelReport:
    """Counts label values a reader did not recognise; they become `None`, counted, never silent."""

    def __init__(self) -> None:
        self.unknown: Counter[tuple[str, str]] = Counter()

    def note(self, column: str, value: str) -> None:
        self.unknown[(column, value)] += 1

    def summary(self) -> str:
        if not self.unknown:
            return "all label values recognised"
        parts = [f"{col}={val!r} x{n}" for (col, val), n in self.unknown.most_common(10)]
        return f"{sum(self.unknown.values())} unrecognised label values set to unknown: " + ", ".join(parts)


_RACE_NAMES = {
    "white": "white",
    "black": "black",
    "east asian": "east_asian",
    "east_asian": "east_asian",
    "southeast asian": "southeast_asian",
    "southeast_asian": "southeast_asian",
    "indian": "indian",
    "middle eastern": "middle_eastern",
    "middle_eastern": "middle_eastern",
    "latino_hispanic": "latino_hispanic",
    "latino hispanic": "latino_hispanic",
    "latino": "latino_hispanic",
    "asian": "asian",
    "others": "other",
    "other": "other",
}


def parse_race(value: str, report: LabelReport) -> str | None:
    v = value.strip().lower()
    if not v:
        return None
    if v in _RACE_NAMES:
        return _RACE_NAMES[v]
    report.note("race", value)
    return None


def parse_gender(value: str, report: LabelReport) -> str | None:
    v = value.strip().lower()
    if not v:
        return None
    if v in ("male", "man", "m"):
        return "male"
    if v in ("female", "woman", "f"):
        return "female"
    report.note("gender", value)
    return None


def parse_age(value: str, report: LabelReport) -> tuple[int | None, int | None]:
    """An age in years ("34") or a FairFace bin ("20-29", "more than 70")."""
    v = value.strip()
    if not v:
        return None, None
    if v in AGE_BINS:
        return AGE_BINS[v]
    if v.isdigit() and 0 <= int(v) <= 120:
        return int(v), int(v)
    report.note("age", value)
    return None, None


def parse_flag(column: str, value: str, report: LabelReport) -> bool | None:
    """CelebA-style binary: 1/0 in the packs, 1/-1 in the official list_attr_celeba.txt."""
    v = value.strip()
    if v == "1":
        return True
    if v in ("0", "-1"):
        return False
    if v:
        report.note(column, value)
    return None


CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
    "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair "
    "Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face "
    "Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair "
    "Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()


def labels_from_celeba(row: dict[str, str], report: LabelReport) -> FaceLabels:
    f = {name: parse_flag(name, row.get(name, ""), report) for name in CELEBA_ATTRIBUTES}
    hair = None
    hair_flags = [(c, f[c]) for c in ("Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair")]
    set_hair = [c for c, v in hair_flags if v]
    if len(set_hair) == 1:  # CelebA sometimes marks two colours; then we do not guess
        hair = set_hair[0].removesuffix("_Hair").lower()
    beard = None
    if f["No_Beard"] is not None or f["Goatee"] is not None:
        beard = (f["No_Beard"] is False) or bool(f["Goatee"])
    male = f["Male"]
    return FaceLabels(
        gender=None if male is None else ("male" if male else "female"),
        young=f["Young"],
        smiling=f["Smiling"],
        mouth_open=f["Mouth_Slightly_Open"],
        hair_colour=hair,
        bald=f["Bald"],
        bangs=f["Bangs"],
        wavy_hair=f["Wavy_Hair"],
        straight_hair=f["Straight_Hair"],
        eyeglasses=f["Eyeglasses"],
        beard=beard,
        mustache=f["Mustache"],
        makeup=f["Heavy_Makeup"],
        lipstick=f["Wearing_Lipstick"],
        earrings=f["Wearing_Earrings"],
        necklace=f["Wearing_Necklace"],
        necktie=f["Wearing_Necktie"],
        hat=f["Wearing_Hat"],
        pale_skin=f["Pale_Skin"],
    )


def labels_from_demographics(row: dict[str, str], report: LabelReport) -> FaceLabels:
    """FairFace and UTKFace rows: age, gender, race."""
    low, high = parse_age(row.get("age", ""), report)
    return FaceLabels(
        gender=parse_gender(row.get("gender", ""), report),
        age_low=low,
        age_high=high,
        race=parse_race(row.get("race", ""), report),
    )


def parse_split(value: str, report: LabelReport) -> str:
    v = value.strip().lower()
    aliases = {"0": "train", "1": "valid", "2": "test", "val": "valid", "validation": "valid"}
    v = aliases.get(v, v)
    if v in SPLITS:
        return v
    report.note("split", value)
    return "train"
