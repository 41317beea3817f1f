"""The creator's loops: variations of a face, comparison grids, styles, and settings read back."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import job_settings, png_bytes
from PIL import Image

from portraitist import api
from portraitist.cli import main
from portraitist.engines import Request
from portraitist.errors import InvalidInput, Unsupported
from portraitist.png import read_settings


def pixels(images) -> np.ndarray:
    return np.stack([np.asarray(i).astype(int) for i in images])


@pytest.mark.parametrize("model", ["face-diffusion", "face-gan"])
def test_variations_run_from_the_face_itself_to_new_faces(model):
    base = pixels(api.generate("a smiling woman", seed=5, model=model))[0]
    same = pixels(
        api.generate("a smiling woman", seed=90, model=model, variation_of=5, variation_strength=0)
    )[0]
    assert np.abs(same - base).max() <= 1  # strength 0: the face itself (batch rounding aside)
    distance = []
    for strength in (0.1, 0.3, 0.6, 1.0):
        faces = pixels(api.generate("a smiling woman", seed=90, num_images=4, model=model, variation_of=5,
                                    variation_strength=strength))  # fmt: skip
        distance.append(np.abs(faces - base).mean())
        assert len({f.tobytes() for f in faces}) == 4  # each new seed its own relative
    assert distance == sorted(distance) and distance[0] < distance[-1] / 2
    made = api.generate("a smiling woman", seed=90, model=model, variation_of=5)[0]
    assert made.info["variation_of"] == 5 and made.info["variation_strength"] == 0.2


def test_a_nearby_reroll_of_the_diffusion_model_is_a_variation_its_settings_repeat(instruments):
    """`reroll_nearby` on the default model: a face failing QA is retried as a variation of itself
    (its noise slerped towards the retry seed's), recorded as one, and repeated from its settings."""
    from dataclasses import replace

    from portraitist.engines.embedded import FaceDiffusionEngine

    engine = FaceDiffusionEngine()
    engine.card = replace(engine.card, reroll_nearby=0.3)
    prompt = "close-up portrait of a smiling woman with blond hair"
    images = engine.generate(Request(prompt, seed=0, n=8, reroll=1))
    retried = [img for img in images if "rerolled_from" in img.info]
    assert retried  # about half of this prompt's faces fail QA before a re-roll
    for img in retried:
        s = img.info
        assert s["variation_of"] == s["rerolled_from"] and s["variation_strength"] == 0.3
        again = engine.generate(Request(prompt, seed=s["seed"], reroll=0, variation_of=s["variation_of"],
                                        variation_strength=0.3))[0]  # fmt: skip
        assert np.abs(pixels([again]) - pixels([img])).max() <= 1  # batch rounding aside


def test_variation_settings_are_checked():
    from portraitist.engines import get_engine

    card = get_engine("face-diffusion").card
    with pytest.raises(InvalidInput, match="needs the seed to vary"):
        Request("a face", variation_strength=0.3).resolve(card)
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        Request("a face", variation_of=3, variation_strength=1.5).resolve(card)
    with pytest.raises(InvalidInput, match="variation seed"):
        Request("a face", variation_of=-1).resolve(card)
    with pytest.raises(Unsupported, match="cannot make variations"):
        Request("a face", variation_of=3).resolve(get_engine("flux-pro").card)


def test_cli_variations_are_recorded_and_regenerate_exactly(tmp_path):
    out = tmp_path / "v"
    assert main(["generate", "a serious man", "--variation-of", "7", "--variation-strength", "0.3", "--seed",
                 "40", "--n", "2", "--out", str(out)]) == 0  # fmt: skip
    settings = read_settings(out / "000041.png")
    assert settings["variation_of"] == 7 and settings["variation_strength"] == 0.3
    assert main(["generate", "--from", str(out / "000041.png"), "--out", str(tmp_path / "again")]) == 0
    a, b = (np.asarray(Image.open(p)) for p in (out / "000041.png", tmp_path / "again" / "000041.png"))
    assert np.abs(a.astype(int) - b).max() <= 1  # a batch of 2 against a batch of 1


def test_a_grid_marks_the_cells_a_model_cannot_honour_and_records_every_cell(tmp_path):
    import json

    from portraitist.grid import parse_axis

    sheet, cells = api.grid(
        "portrait photo of a smiling woman", "steps=2,6", "model=face-diffusion,face-gan", seed=3
    )
    assert [(c.x, c.y, c.image is not None) for c in cells] == [
        (2, "face-diffusion", True), (6, "face-diffusion", True), (2, "face-gan", False), (6, "face-gan", False)]  # fmt: skip
    assert "face-gan does not take a step count" in cells[2].error
    assert cells[0].image.info["steps"] == 2 and cells[1].image.info["steps"] == 6
    assert sheet.size == (120 + 2 * 128, 22 + 2 * 132)
    paths = api.save_grid(sheet, cells, tmp_path, "steps=2,6", "model=face-diffusion,face-gan")
    assert sorted(p.name for p in paths) == ["cell-00.png", "cell-01.png", "grid.png"]
    recorded = json.loads(read_settings(tmp_path / "grid.png")["grid_cells"])
    assert recorded[1]["steps"] == 6 and recorded[3]["error"].startswith("face-gan does not take")
    # prompt search and replace; the first value must be in the prompt
    _, cells = api.grid("portrait of a smiling man", "prompt=smiling,serious", model="face-gan")
    assert [c.image.info["prompt"] for c in cells] == [
        "portrait of a smiling man",
        "portrait of a serious man",
    ]
    with pytest.raises(InvalidInput, match="'laughing' is not in the prompt"):
        api.grid("portrait of a smiling man", "prompt=laughing,serious")
    for bad, message in [("speed=1,2", "SETTING=V1"), ("steps=a,b", "must be ints"), ("steps=", "no values")]:
        with pytest.raises(InvalidInput, match=message):
            parse_axis(bad)
    with pytest.raises(InvalidInput, match="both steps"):
        api.grid("a face", "steps=1,2", "steps=3,4")
    with pytest.raises(InvalidInput, match="limit is 64"):
        api.grid("a face", "seed=" + ",".join(map(str, range(9))), "steps=" + ",".join(map(str, range(1, 9))))


def test_cli_grid_writes_the_sheet_and_says_what_it_could_not_make(tmp_path, capsys):
    assert main(["grid", "portrait photo of a woman", "--x", "sampler=euler,heun,nope", "--steps", "3",
                 "--out", str(tmp_path / "g")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "2 of 3 cells made" in out and "no sampler 'nope'" in out
    assert (tmp_path / "g" / "grid.png").exists()
    assert main(["grid", "a face", "--x", "colour=red", "--out", str(tmp_path / "h")]) == 2


def test_styles_add_what_the_prompt_does_not_say_and_apply_once(tmp_path, monkeypatch):
    from portraitist.prompting.styles import style, styles

    assert {"studio-portrait", "film-noir", "golden-hour", "passport-photo"} <= set(styles())
    noir = style("film-noir")
    prompt, negative = noir.apply("portrait of a smiling man, rim light", "glasses")
    assert (
        prompt
        == "portrait of a smiling man, rim light, low-key lighting, black and white, high contrast, deep shadows"
    )
    assert "serious" not in prompt  # the prompt's own expression wins
    assert negative.startswith("blurry") and negative.endswith(
        "glasses, colour"
    )  # "smiling" is asked for: dropped
    assert noir.apply(prompt, negative) == (prompt, negative)  # applying twice changes nothing
    # a user's style, and a user's file that overrides a shipped one
    monkeypatch.setenv("PORTRAITIST_STYLES", str(tmp_path))
    (tmp_path / "my-look.toml").write_text(
        'title = "Mine"\n[brief]\nexpression = "laughing"\nquality = ["grainy"]\n'
    )
    (tmp_path / "film-noir.toml").write_text('title = "My noir"\n[brief]\nfilm = "black and white"\n')
    assert style("my-look").apply("a woman", None) == ("a woman, laughing, grainy", None)
    assert style("film-noir").title == "My noir"
    for text, message in [('[brief]\nlens = "85mm"\n', "unknown part 'lens'"), ("[brief\n", "cannot be read"),
                          ('[brief]\nquality = "sharp"\n', "quality must be a list"),
                          ('[negative]\npresets = ["ugly"]\n', "unknown negative preset 'ugly'")]:  # fmt: skip
        (tmp_path / "bad.toml").write_text(text)
        with pytest.raises(InvalidInput, match=message):
            styles()
    (tmp_path / "bad.toml").unlink()
    with pytest.raises(InvalidInput, match="unknown style 'nope'"):
        style("nope")


def test_a_style_goes_through_the_request_and_is_recorded(tmp_path, capsys):
    made = api.generate("portrait of a woman", style="golden-hour", seed=2)[0]
    assert made.info["style"] == "golden-hour" and "golden hour from the right" in made.info["prompt"]
    assert "cold light" in made.info["negative_prompt"]
    out = tmp_path / "s"
    assert (
        main(["generate", "portrait of a woman", "--style", "passport-photo", "--n", "1", "--out", str(out)])
        == 0
    )
    assert main(["generate", "--from", str(out / "000000.png"), "--out", str(tmp_path / "again")]) == 0
    (again,) = (tmp_path / "again").glob("*.png")  # named by the face's own seed (a re-rolled one's)
    a, b = read_settings(out / "000000.png"), read_settings(again)
    assert a["prompt"] == b["prompt"] and b["style"] == "passport-photo" and a["seed"] == b["seed"]
    assert np.array_equal(np.asarray(Image.open(out / "000000.png")), np.asarray(Image.open(again)))
    assert main(["styles", "--model", "face-gan"]) == 0
    listing = capsys.readouterr().out
    noir = listing[listing.index("film-noir") : listing.index("golden-hour")]
    assert "face-gan cannot fully honour:" in noir and "film (no)" in noir
    assert main(["generate", "a face", "--style", "nope", "--out", str(tmp_path / "x")]) == 2


FACES = np.load("tests/data/reference_faces.npz")["gan"]


def test_starting_from_a_photo_keeps_more_of_it_at_lower_strength(tmp_path):
    from portraitist.png import read_marks
    from portraitist.reference import StartImage

    photo = StartImage.from_image(np.asarray(Image.fromarray(FACES[1]).resize((200, 200))), "photo.png")
    distance = []
    for strength in (0.0, 0.3, 0.6, 1.0):
        made = api.generate("portrait photo of a person", init_image=photo, strength=strength, num_images=2)
        distance.append(np.abs(pixels(made) - photo.face.astype(int)).mean())
    assert distance == sorted(distance) and distance[0] < 12  # strength 0: the photo through the autoencoder
    assert (
        made[0].info["init_image"] == f"photo.png (sha256 {photo.digest})" and made[0].info["strength"] == 1.0
    )
    gan = api.generate("portrait photo of a person", model="face-gan", init_image=photo, strength=0.2)[0]
    assert gan.info["init_image"].startswith("photo.png")
    Image.fromarray(FACES[1]).save(tmp_path / "me.png")
    out = tmp_path / "out"
    assert (
        main(
            [
                "generate",
                "a smiling person",
                "--init-image",
                str(tmp_path / "me.png"),
                "--n",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    made = out / "000000.png"
    assert read_settings(made)["strength"] == 0.6
    assert read_marks(made)["digital_source_type"].endswith("compositeWithTrainedAlgorithmicMedia")
    # regenerating needs the photo again, and then gives the same pixels
    assert main(["generate", "--from", str(made), "--out", str(tmp_path / "a")]) == 2
    assert (
        main(
            [
                "generate",
                "--from",
                str(made),
                "--init-image",
                str(tmp_path / "me.png"),
                "--out",
                str(tmp_path / "b"),
            ]
        )
        == 0
    )
    (again,) = (tmp_path / "b").glob("*.png")  # named by the face's own seed (a re-rolled one's)
    assert np.array_equal(np.asarray(Image.open(made)), np.asarray(Image.open(again)))
    with pytest.raises(InvalidInput, match="needs a start image"):
        api.generate("a face", strength=0.5)
    with pytest.raises(InvalidInput, match="no face found in grey.png"):
        StartImage.from_image(np.full((80, 80, 3), 120, np.uint8), "grey.png")
    with pytest.raises(InvalidInput, match="2 faces found"):
        api.generate("a face", init_image=np.concatenate([FACES[0], FACES[1]], axis=1))


def test_http_variations_styles_grids_start_images_and_settings_read_back(tmp_path):
    import base64
    import io

    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from portraitist.studio.server import create_app

    app = create_app(tmp_path / "gallery")
    with TestClient(app) as c:
        varied = job_settings(
            c,
            {
                "prompt": "a smiling woman",
                "seed": 50,
                "n": 2,
                "variation_of": 3,
                "variation_strength": 0.25,
                "reroll": 0,
            },
        )
        assert [(s["seed"], s["variation_of"], s["variation_strength"]) for s in varied] == [
            (50, 3, 0.25),
            (51, 3, 0.25),
        ]
        styled = job_settings(c, {"prompt": "portrait of a man", "style": "film-noir"})[0]
        assert styled["style"] == "film-noir" and "black and white" in styled["prompt"]
        assert c.post("/api/jobs", json={"prompt": "a face", "style": "nope"}).status_code == 422
        styles = {s["name"]: s for s in c.get("/api/styles", params={"model": "face-gan"}).json()}
        assert "film" in styles["film-noir"]["cannot_honour"]
        preview = c.get(styles["golden-hour"]["preview"])
        assert preview.status_code == 200 and Image.open(io.BytesIO(preview.content)).size == (128, 128)
        assert c.get("/api/styles/nope/preview.png").status_code == 404
        # a photo to start from: its aligned face goes back in the job
        ref = c.post(
            "/api/references", content=png_bytes(Image.fromarray(FACES[2]).resize((160, 160)))
        ).json()
        started = job_settings(
            c,
            {
                "prompt": "a smiling person",
                "init_image": {"name": "me.png", "face": ref["face64"]},
                "strength": 0.4,
            },
        )[0]
        assert started["init_image"].startswith("me.png (sha256 ") and started["strength"] == 0.4
        bad = c.post("/api/jobs", json={"prompt": "a face", "init_image": {"name": "x", "face": "nonsense"}})
        assert bad.status_code == 422 and "aligned face" in bad.json()["detail"]
        # a grid, made now; the GAN's cells without steps are marked
        grid = c.post(
            "/api/grid",
            json={"prompt": "portrait of a woman", "x": "steps=2,5", "y": "model=face-diffusion,face-gan"},
        )
        assert grid.status_code == 200, grid.text
        cells = grid.json()["cells"]
        assert [("image" in cell, cell.get("error", "")[:24]) for cell in cells] == [
            (True, ""), (True, ""), (False, "face-gan does not take a"), (False, "face-gan does not take a")]  # fmt: skip
        sheet = Image.open(io.BytesIO(base64.b64decode(grid.json()["sheet"].split(",", 1)[1])))
        assert sheet.size == (120 + 2 * 128, 22 + 2 * 132)
        assert c.post("/api/grid", json={"prompt": "a face", "x": "speed=1"}).status_code == 422
        # settings read back from a PNG the studio made; a PNG without them is refused clearly
        image_id = cells[0]["image"]["id"]
        made = c.get(f"/api/images/{image_id}.png").content
        back = c.post("/api/settings", content=made)
        assert back.status_code == 200 and back.json()["settings"]["steps"] == 2
        plain = c.post("/api/settings", content=png_bytes(Image.fromarray(FACES[0])))
        assert plain.status_code == 422 and "carries no portraitist settings" in plain.json()["detail"]
        assert c.post("/api/settings", content=b"junk").status_code == 422
    app.state.jobs.shutdown()


def test_style_previews_show_seed_0_without_a_re_roll(model_file, tmp_path):
    """Every style's preview is the same person (seed 0, never re-rolled: the tiny model's faces all
    fail QA, so a re-roll may change it), and is made once."""
    import io

    from fastapi.testclient import TestClient

    from portraitist.engines.embedded import FaceDiffusionEngine
    from portraitist.prompting.styles import styles
    from portraitist.studio.server import create_app

    engine = FaceDiffusionEngine(weights=model_file)
    # a style whose seed-0 face a re-roll would replace (the best of the failing tries is not
    # always the first), so that a re-rolled preview would show
    for name in styles():
        rerolled = engine.generate(Request("portrait photo of a person", seed=0, style=name))[0]
        if rerolled.info["tries"] == engine.card.default_reroll + 1 and rerolled.info["seed"] != 0:
            break
    else:
        pytest.fail("no style's seed-0 face would be re-rolled: this test could not tell")
    plain = engine.generate(Request("portrait photo of a person", seed=0, style=name, reroll=0))[0]
    with TestClient(create_app(tmp_path / "gallery", weights=str(model_file))) as c:
        url = {s["name"]: s["preview"] for s in c.get("/api/styles").json()}[name]
        preview = Image.open(io.BytesIO(c.get(url).content)).convert("RGB")
        assert c.get(url).content == c.get(url).content  # kept, not rendered again
    expected = np.asarray(plain.resize((128, 128), Image.Resampling.LANCZOS), int)
    assert np.abs(np.asarray(preview, int) - expected).max() <= 2


def test_the_prompt_linter_shows_what_a_model_cannot_honour_of_a_style(capsys):
    assert (
        main(["prompt", "portrait of a woman", "--style", "golden-hour", "--model", "face-gan", "--json"])
        == 0
    )
    import json

    out = json.loads(capsys.readouterr().out)
    assert "golden hour from the right" in out["prompt"] and "cold light" in out["negative_prompt"]
    unmet = {r["part"] for r in out["coverage"] if r["honoured"] == "no"}
    assert {"focal_length_mm", "aperture", "film"} <= unmet
