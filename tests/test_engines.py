"""The model registry, the shared request rules, prompt coverage, and the embedded engine."""

import numpy as np
import pytest

from portraitist.engines import (
    Request,
    Unsupported,
    check_request,
    coverage,
    get_engine,
    list_models,
    model_names,
)
from portraitist.engines.embedded import FaceDiffusionEngine

CARD_FIELDS = (
    "name",
    "best_for",
    "style",
    "native_resolution",
    "speed",
    "negative_prompt",
    "licence",
    "weights",
)


def test_every_model_has_a_full_card_and_says_whether_it_runs_here(monkeypatch):
    for var in ("BFL_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "ARK_API_KEY", "PORTRAITIST_MODELS"):
        monkeypatch.delenv(var, raising=False)
    rows = {r["name"]: r for r in list_models()}
    expected = {"face-diffusion", "sd3.5-large", "sd3.5-medium", "flux.1-dev", "flux.1-schnell", "sdxl",
                "realistic-vision-5.1", "flux-pro", "flux-pro-1.1", "flux-pro-1.1-ultra", "imagen-4", "seedream-4"}  # fmt: skip
    assert expected <= set(rows) and list(rows) == model_names()
    for row in rows.values():
        assert all(row[f] for f in CARD_FIELDS), row["name"]
        assert row["engine"] in ("embedded", "open-weights", "hosted")
        assert isinstance(row["available"], bool) and row["why"]
    assert rows["face-diffusion"]["available"] and "0.09 s" in rows["face-diffusion"]["speed"]
    assert not rows["imagen-4"]["available"] and "GEMINI_API_KEY" in rows["imagen-4"]["why"]
    assert not rows["flux.1-dev"]["available"] and "black-forest-labs/FLUX.1-dev" in rows["flux.1-dev"]["why"]
    assert rows["flux.1-dev"]["negative_prompt"] == "true-cfg" and rows["imagen-4"]["negative_prompt"] == "no"
    monkeypatch.setenv("ARK_API_KEY", "k")
    assert {r["name"]: r for r in list_models()}["seedream-4"]["available"]
    with pytest.raises(ValueError, match="unknown model 'dalle'.*face-diffusion"):
        get_engine("dalle")


def test_settings_a_model_cannot_honour_are_refused_by_name():
    card = get_engine("face-diffusion").card
    check_request(
        card, Request("a man", negative_prompt="glasses", seed=1, steps=8, guidance=3, sampler="heun")
    )
    for request, message in [
        (Request(""), "prompt is empty"),
        (Request("a man", n=0), "1 to 64 images"),
        (Request("a man", steps=0), "1 to 200 steps"),
        (Request("a man", guidance=-1), "guidance 0 to 30"),
        (Request("a man", seed=-1), "non-negative"),
        (Request("a man" * 1000), "limit is 2000"),
        (Request("a man", sampler="plms"), "no sampler 'plms'; it offers: ddim, dpmpp_2m, euler, heun"),
    ]:
        with pytest.raises(ValueError, match=message):
            check_request(card, request)
    with pytest.raises(Unsupported, match="imagen-4 has no negative prompt"):
        check_request(get_engine("imagen-4").card, Request("a man", negative_prompt="hat"))
    with pytest.raises(Unsupported, match="provider fixes it"):
        check_request(get_engine("flux-pro-1.1").card, Request("a man", steps=10))


def test_coverage_shows_what_the_small_model_cannot_honour():
    card = get_engine("face-diffusion").card
    rows = {r["part"]: r for r in coverage(card, "close-up portrait of a smiling woman with green eyes, 85mm lens at f/1.4, "
                                               "blond hair, glasses, freckles, shot on Kodak Portra 400, sharp focus, on a beach",
                                           "eyeglasses")}  # fmt: skip
    assert (
        rows["gender"]["honoured"]
        == rows["expression"]["honoured"]
        == rows["hair_colour"]["honoured"]
        == "yes"
    )
    assert (
        rows["features"]["honoured"] == "partly" and "glasses" in rows["features"]["note"]
    )  # glasses yes, freckles no
    for part in ("eye_colour", "focal_length_mm", "aperture", "quality", "film"):
        assert rows[part]["honoured"] == "no", part
    assert rows["other words"]["value"] == ["beach"]
    auburn = {r["part"]: r for r in coverage(card, "a man with auburn hair, black and white")}
    assert auburn["hair_colour"]["honoured"] == "no" and auburn["film"]["honoured"] == "yes"
    assert rows["negative prompt"]["honoured"] == "yes"
    flux = {r["part"]: r for r in coverage(get_engine("flux.1-dev").card, "a man, 85mm", "hat")}
    assert (
        flux["focal_length_mm"]["honoured"] == "partly" and "second pass" in flux["negative prompt"]["note"]
    )
    assert {r["part"]: r for r in coverage(get_engine("imagen-4").card, "a man", "hat")}["negative prompt"][
        "honoured"
    ] == "no"


def test_embedded_engine_generates_with_settings_and_progress(model_file):
    engine = FaceDiffusionEngine(weights=model_file)
    steps = []
    images = engine.generate(Request("a smiling man", negative_prompt="glasses", seed=3, steps=4, n=2, reroll=0),
                             callback=lambda i, n, preview: steps.append((i, n, preview.size)))  # fmt: skip
    assert [img.size for img in images] == [(64, 64)] * 2
    assert steps == [(i, 4, (64, 64)) for i in range(1, 5)]
    info = images[1].info
    assert (info["model"], info["engine"], info["seed"], info["steps"], info["negative_prompt"]) == (
        "face-diffusion", "embedded", 4, 4, "glasses")  # fmt: skip
    assert info["weights"] == "tiny" and info["native_resolution"] == "64x64"
    again = engine.generate(Request("a smiling man", negative_prompt="glasses", seed=4, steps=4, reroll=0))
    assert np.array_equal(np.asarray(again[0]), np.asarray(images[1])) or np.abs(
        np.asarray(again[0], int) - np.asarray(images[1], int)).max() <= 2  # fmt: skip


def test_built_in_models_reroll_failed_faces_unless_asked_not_to(model_file):
    engine = FaceDiffusionEngine(weights=model_file)
    card = engine.card
    k = card.default_reroll
    assert k >= 1 and get_engine("face-gan").card.default_reroll >= 1
    assert Request("a man").resolve(card).reroll == k and Request("a man", reroll=0).resolve(card).reroll == 0
    assert get_engine("flux-pro").card.default_reroll == 0  # QA checks the 64x64 models only
    # the tiny model's faces fail QA: by default each is tried again, and says how often
    images = engine.generate(Request("a smiling man", seed=3, steps=2, n=2))
    assert all(img.info["tries"] == k + 1 and "qa" in img.info for img in images)
    plain = engine.generate(Request("a smiling man", seed=3, steps=2, n=2, reroll=0))
    assert [img.info["seed"] for img in plain] == [3, 4] and "tries" not in plain[0].info


def test_cli_lists_models_and_lints_a_brief(capsys):
    import json

    from portraitist.cli import main

    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} >= {"face-diffusion", "flux.1-dev", "imagen-4", "seedream-4"}
    assert main(["prompt", "--subject", "woman", "--age", "in her thirties", "--hair", "auburn", "--expression", "soft smile",
                 "--light", "from the left", "--lens", "85", "--aperture", "1.4", "--quality", "sharp focus",
                 "--negative-preset", "plastic", "--json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert out["prompt"].startswith("close-up portrait photo of a woman in her thirties with auburn hair")
    assert out["negative_prompt"].startswith("plastic skin") and out["hints"] == []
    parts = {r["part"]: r["honoured"] for r in out["coverage"]}
    assert parts["hair_colour"] == "no" and parts["focal_length_mm"] == "no" and parts["gender"] == "yes"
    assert main(["prompt", "a portrait of a woman"]) == 0
    assert "missing: age" in capsys.readouterr().out
