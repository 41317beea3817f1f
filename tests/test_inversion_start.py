"""Starting from a photo's inversion (`invert`): the face drawn again from its own trajectory rather
than from itself noised, which keeps much more of its person; branching a seed's own path off to
another prompt (`branch_from`); and the series built on them for a diffusion model without an
identity input."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import job_settings, png_bytes
from PIL import Image

from portraitist import api
from portraitist.cli import main
from portraitist.diffusion.inversion import DEFAULT_INVERSION_DEPTH, INVERSION_DEPTHS, inversion_depth
from portraitist.engines.base import DEFAULT_INIT_STRENGTH
from portraitist.errors import InvalidInput, Unsupported
from portraitist.png import read_settings
from portraitist.reference import StartImage

FACES = np.load("tests/data/reference_faces.npz")["gan"]
PROMPT = "portrait photo of a smiling person"
GLASSES = "portrait photo of a person wearing glasses"


def pixels(images) -> np.ndarray:
    return np.stack([np.asarray(i).astype(int) for i in images])


def test_an_inverted_start_keeps_more_of_the_photo_than_a_noised_one():
    photos = [StartImage.from_aligned(f, f"photo{i}.png") for i, f in enumerate(FACES[:3])]
    noised, inverted = [], []
    for photo in photos:
        n = api.generate(PROMPT, init_image=photo, strength=0.6, seed=1, reroll=0)
        v = api.generate(PROMPT, init_image=photo, strength=0.6, seed=1, invert=True)
        noised.append(np.abs(pixels(n) - photo.face.astype(int)).mean())
        inverted.append(np.abs(pixels(v) - photo.face.astype(int)).mean())
    assert np.mean(inverted) < np.mean(noised)
    assert v[0].info["invert"] is True and v[0].info["init_image"].startswith("photo2.png (sha256 ")
    assert "invert" not in n[0].info
    # its own defaults: Euler (the inversion's mirror image) at 16 steps, recorded
    assert (v[0].info["steps"], v[0].info["sampler"]) == (16, "euler") and n[0].info["steps"] == 8
    # the seed is not used: an inversion is deterministic
    other_seed = api.generate(PROMPT, init_image=photos[2], strength=0.6, seed=99, invert=True)
    assert np.array_equal(pixels(v), pixels(other_seed))
    # strength 0 is the photo through the autoencoder, however it starts
    still = [
        api.generate(PROMPT, init_image=photos[0], strength=0.0, invert=k, reroll=0) for k in (False, True)
    ]
    assert np.array_equal(pixels(still[0]), pixels(still[1]))


def test_an_inversion_start_goes_as_deep_as_its_prompt_needs():
    depths = INVERSION_DEPTHS
    assert (
        inversion_depth(PROMPT)
        == depths["smiling", True]
        < inversion_depth(GLASSES)
        == depths["eyeglasses", True]
    )
    assert inversion_depth("a serious old man wearing glasses") == max(
        depths["smiling", False], depths["age", "old"], depths["eyeglasses", True], DEFAULT_INVERSION_DEPTH
    )  # several asks: the deepest; a man is not in the table, so he counts at the default
    for other in ("a person in a red scarf", "a person without glasses", "lit from the left"):
        assert inversion_depth(other) == DEFAULT_INVERSION_DEPTH
    assert inversion_depth("a person", negative_prompt="smiling, glasses") == DEFAULT_INVERSION_DEPTH
    # the engine: no strength given takes the prompt's depth, recorded so --from repeats it
    photo = StartImage.from_aligned(FACES[0], "me.png")
    smile, glasses = (api.generate(p, init_image=photo, invert=True)[0] for p in (PROMPT, GLASSES))
    assert (smile.info["strength"], glasses.info["strength"]) == (0.5, 0.75)
    shallow = api.generate(GLASSES, init_image=photo, invert=True, strength=0.5)[0]
    assert shallow.info["strength"] == 0.5  # a strength given wins
    away = [np.abs(np.asarray(i).astype(int) - photo.face.astype(int)).mean() for i in (glasses, shallow)]
    assert away[0] > away[1]  # deeper: further from the photo
    noised = api.generate(GLASSES, init_image=photo, reroll=0)[0]
    assert noised.info["strength"] == DEFAULT_INIT_STRENGTH  # a noised start keeps its own default


def test_inverting_is_checked():
    photo = StartImage.from_aligned(FACES[0], "photo.png")
    with pytest.raises(InvalidInput, match="invert needs a start image"):
        api.generate(PROMPT, invert=True)
    with pytest.raises(InvalidInput, match="ask for one image"):
        api.generate(PROMPT, init_image=photo, invert=True, num_images=2)
    with pytest.raises(InvalidInput, match="invert must be true or false"):
        api.generate(PROMPT, init_image=photo, invert="yes")
    with pytest.raises(Unsupported, match="face-gan cannot start from a photo's inversion"):
        api.generate(PROMPT, model="face-gan", init_image=photo, invert=True)


def test_cli_invert_is_recorded_and_repeats_from_the_png(tmp_path):
    Image.fromarray(FACES[1]).save(tmp_path / "me.png")
    out = tmp_path / "out"
    assert main(["generate", "a serious person", "--init-image", str(tmp_path / "me.png"), "--invert",
                 "--n", "1", "--out", str(out)]) == 0  # fmt: skip
    (made,) = out.glob("*.png")
    assert read_settings(made)["invert"] is True
    again = tmp_path / "again"
    assert (
        main(["generate", "--from", str(made), "--init-image", str(tmp_path / "me.png"), "--out", str(again)])
        == 0
    )
    (repeat,) = again.glob("*.png")
    assert read_settings(repeat)["invert"] is True
    assert np.array_equal(np.asarray(Image.open(made)), np.asarray(Image.open(repeat)))


def test_a_series_on_a_model_without_an_identity_input_starts_from_the_face(tmp_path):
    prompts = ["a smiling person", "a serious person"]
    from_photo = api.series(prompts, face=FACES[1])
    assert [f.info["invert"] for f in from_photo] == [True, True]
    assert {f.info["init_image"] for f in from_photo} == {from_photo[0].info["init_image"]}
    assert not np.array_equal(*pixels(from_photo))  # each prompt its own portrait
    assert [f.info["strength"] for f in from_photo] == [inversion_depth(p) for p in prompts] == [0.5, 0.75]
    # a seed's person: its own path under the base prompt, branched (no inversion needed)
    from_seed = api.series(prompts, seed=4, strength=0.5)
    assert all(f.info["branch_from"] == api.SERIES_BASE_PROMPT and "invert" not in f.info for f in from_seed)
    assert [f.info["strength"] for f in from_seed] == [0.5, 0.5]
    assert [f.info["strength"] for f in api.series(prompts, seed=4)] == [0.5, 0.75]  # by prompt
    with pytest.raises(InvalidInput, match="face-gan keeps the person without a start image"):
        api.series(prompts, model="face-gan", strength=0.5)
    out = tmp_path / "series"
    Image.fromarray(FACES[2]).save(tmp_path / "me.png")
    assert (
        main(
            ["series", "--face", str(tmp_path / "me.png"), "--prompts", "smiling|serious", "--out", str(out)]
        )
        == 0
    )
    assert sorted(p.name for p in out.glob("*.png")) == ["000.png", "001.png", "grid.png"]
    assert read_settings(out / "000.png")["init_image"].startswith("me.png (sha256 ")


def test_http_a_job_and_a_series_start_from_a_photos_inversion(tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from portraitist.studio.server import create_app

    with TestClient(create_app(tmp_path / "gallery")) as c:
        face = c.post("/api/references", content=png_bytes(Image.fromarray(FACES[0]))).json()["face64"]
        start = {"init_image": {"name": "me.png", "face": face}, "strength": 0.6}
        (one,) = job_settings(c, {"prompt": PROMPT, "invert": True} | start)
        assert one["invert"] is True and one["init_image"].startswith("me.png (sha256 ")
        series = job_settings(
            c,
            {"prompt": "a smiling person", "series": ["a smiling person", "an elderly person"]}
            | {"init_image": start["init_image"]},
        )  # no strength: each portrait as deep as its prompt needs
        assert [s["invert"] for s in series] == [True, True] and series[1]["prompt"] == "an elderly person"
        assert [s["strength"] for s in series] == [
            INVERSION_DEPTHS["smiling", True],
            INVERSION_DEPTHS["age", "old"],
        ]
        many = c.post("/api/jobs", json={"prompt": PROMPT, "invert": True, "n": 2} | start)
        assert many.status_code == 422 and "one image" in many.json()["detail"]


BASE = "close-up portrait photo of a person"


def test_a_branch_follows_one_prompt_then_another():
    base = api.generate(BASE, seed=3, num_images=2, reroll=0)
    own = api.generate(PROMPT, seed=3, num_images=2, reroll=0)
    # strength 0: every step under the prompt branched from (the seed's face for it); 1: none
    assert np.array_equal(pixels(api.generate(PROMPT, branch_from=BASE, strength=0.0, seed=3, num_images=2)),
                          pixels(base))  # fmt: skip
    assert np.array_equal(pixels(api.generate(PROMPT, branch_from=BASE, strength=1.0, seed=3, num_images=2)),
                          pixels(own))  # fmt: skip
    half = api.generate(PROMPT, branch_from=BASE, strength=0.5, seed=3, num_images=2)
    # half way keeps more of the base face than the prompt's own face does
    assert 0 < np.abs(pixels(half) - pixels(base)).mean() < np.abs(pixels(own) - pixels(base)).mean()
    assert half[0].info["branch_from"] == BASE and half[0].info["strength"] == 0.5
    # no strength: as deep as the prompt needs; no re-roll unless asked (another seed, another person)
    auto = api.generate(GLASSES, branch_from=BASE, seed=3)
    assert auto[0].info["strength"] == INVERSION_DEPTHS["eyeglasses", True] and "tries" not in auto[0].info
    assert "tries" in api.generate(GLASSES, branch_from=BASE, seed=3, reroll=2)[0].info


def test_branching_is_checked():
    photo = StartImage.from_aligned(FACES[0], "photo.png")
    with pytest.raises(InvalidInput, match="non-empty text"):
        api.generate(PROMPT, branch_from="  ")
    with pytest.raises(InvalidInput, match="not both"):
        api.generate(PROMPT, branch_from=BASE, init_image=photo)
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        api.generate(PROMPT, branch_from=BASE, strength=1.5)
    with pytest.raises(InvalidInput, match="a strength needs a start image"):
        api.generate(PROMPT, strength=0.5)
    with pytest.raises(Unsupported, match="face-gan cannot branch from another prompt"):
        api.generate(PROMPT, model="face-gan", branch_from=BASE)


def test_cli_branch_is_recorded_and_repeats_from_the_png(tmp_path):
    out = tmp_path / "out"
    assert main(["generate", "a serious person", "--branch-from", BASE, "--strength", "0.75",
                 "--n", "1", "--seed", "5", "--out", str(out)]) == 0  # fmt: skip
    (made,) = out.glob("*.png")
    assert (read_settings(made)["branch_from"], read_settings(made)["strength"]) == (BASE, 0.75)
    again = tmp_path / "again"
    assert main(["generate", "--from", str(made), "--out", str(again)]) == 0
    (repeat,) = again.glob("*.png")
    assert read_settings(repeat)["branch_from"] == BASE
    assert np.array_equal(np.asarray(Image.open(made)), np.asarray(Image.open(repeat)))
