import random

import pytest

from portraitist import vocabulary as vocab
from portraitist.prompting import PRESETS, PortraitBrief, lint, negative_prompt


def random_brief(rng: random.Random) -> PortraitBrief:
    gender = rng.choice(["woman", "man"])
    pron = "her" if gender == "woman" else "his"
    age = rng.choice(
        [f"{rng.randint(18, 90)}-year-old", f"in {pron} {rng.choice(vocab.DECADE_WORDS)}", "elderly", "young"]
    )
    return PortraitBrief(
        shot=rng.choice(vocab.SHOTS),
        gender=gender,
        age=age,
        ethnicity=rng.choice(vocab.ETHNICITIES),
        hair_colour=rng.choice(vocab.HAIR_COLOURS),
        eye_colour=rng.choice(vocab.EYE_COLOURS),
        features=rng.sample(["freckles", "earrings", "a scar", "dimples", "stubble"], 2),
        expression=rng.choice(vocab.EXPRESSIONS),
        light_direction=rng.choice(vocab.LIGHT_DIRECTIONS),
        light_quality=rng.choice(vocab.LIGHT_QUALITIES),
        focal_length_mm=rng.choice([35, 50, 85, 105, 135]),
        aperture=rng.choice([1.2, 1.4, 1.8, 2.8, 4, 8]),
        film=rng.choice(vocab.FILMS),
        quality=rng.sample(["sharp focus", "natural skin texture", "highly detailed"], 2),
    )


def test_brief_round_trips_through_its_prompt():
    rng = random.Random(0)
    for _ in range(300):
        brief = random_brief(rng)
        prompt = brief.to_prompt()
        parsed = PortraitBrief.parse(prompt)
        parsed.features.sort(), brief.features.sort(), parsed.quality.sort(), brief.quality.sort()
        assert parsed == brief, prompt


def test_parse_reads_free_form_prompts():
    b = PortraitBrief.parse("85mm headshot of a smiling old man with white hair, rim light, black and white")
    assert (b.shot, b.gender, b.age, b.hair_colour) == ("headshot", "man", "old", "white")
    assert (b.expression, b.light_direction, b.film, b.focal_length_mm) == (
        "smiling",
        "rim light",
        "black and white",
        85,
    )
    assert b.ethnicity is None  # "white hair" and "black and white" are not ethnicities
    b = PortraitBrief.parse(
        "Black woman aged 34, hazel eyes, glasses, soft light from the right, f/2.8, in a garden"
    )
    assert (b.ethnicity, b.age, b.eye_colour, b.aperture) == ("Black", "34-year-old", "hazel", 2.8)
    assert (
        b.features == ["glasses"]
        and b.light_quality == "soft light"
        and b.light_direction == "from the right"
    )
    assert b.extra == ["garden"]  # what it does not know is kept, not lost


def test_linter_flags_a_vague_prompt_part_by_part():
    hints = lint("a portrait of a woman")
    parts = {h.part for h in hints}
    assert {"prompt", "age", "hair_colour", "expression", "lighting", "camera", "quality"} <= parts
    assert "subject" not in parts  # a woman is a subject
    assert all(h.message for h in hints)


def test_linter_is_quiet_on_a_complete_brief_and_catches_conflicts_and_negations():
    full = random_brief(random.Random(1)).to_prompt()
    assert lint(full) == []
    hints = lint("close-up portrait of a smiling serious man in his forties with blond hair and black hair, no glasses, "
                 "soft light from the left, 85mm, sharp focus")  # fmt: skip
    kinds = {(h.part, h.severity) for h in hints}
    assert ("expression", "conflict") in kinds and ("hair_colour", "conflict") in kinds
    assert ("negation", "move") in kinds
    assert any("glasses" in h.message and "negative prompt" in h.message for h in hints)
    assert any(
        h.severity == "vague"
        for h in lint("a beautiful portrait of a man in his thirties, soft light, 50mm, smiling, brown hair")
    )


def test_negative_presets_combine_without_repeats():
    assert set(PRESETS) == {"blurry", "deformed", "plastic", "watermark", "teeth-eyes"}
    text = negative_prompt("blurry", "watermark", extra="Text, eyeglasses")
    terms = text.split(", ")
    assert terms[:2] == ["blurry", "out of focus"] and terms[-1] == "eyeglasses"
    assert len(terms) == len({t.lower() for t in terms})  # "Text" repeats the preset's "text"
    assert "mismatched eyes" in negative_prompt("teeth-eyes")
    with pytest.raises(ValueError, match="unknown negative preset 'blury'"):
        negative_prompt("blury")


def test_negated_phrases_move_to_the_negative_prompt():
    from portraitist.vocabulary import split_negations

    assert split_negations("portrait photo of a person without glasses") == (
        "portrait photo of a person",
        ["glasses"],
    )
    assert split_negations("a man with no beard, studio light") == ("a man, studio light", ["beard"])
    assert split_negations("a woman not smiling and without makeup") == ("a woman", ["smiling", "makeup"])
    assert split_negations("photo of a person with blond hair, no hat, soft light") == (
        "photo of a person with blond hair, soft light", ["hat"])  # fmt: skip
    assert split_negations("a smiling man in a knotted tie") == ("a smiling man in a knotted tie", [])
    assert split_negations("no glasses") == ("no glasses", ["glasses"])  # nothing left: keep the text
