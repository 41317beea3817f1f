"""The GAN behind the engine interface: prompt steering along W directions, the card's rules,
settings in the PNG metadata, edits from saved settings, and the CLI paths (generate, directions,
edit) on a tiny random GAN exported as users get it."""

import numpy as np
import pytest
import torch

from portraitist.engines import Request, Unsupported, get_engine
from portraitist.engines.embedded import FaceGANEngine
from portraitist.errors import EngineUnavailable
from portraitist.latent import gan_directions as gd
from portraitist.latent import steering
from portraitist.pipelines.face_gan import FaceGAN, directions_path


def test_prompts_read_as_directions_to_steer():
    assert steering.wanted("portrait photo of a smiling woman") == {"gender": -1, "smile": 1}
    assert steering.wanted("an elderly man with blond hair wearing glasses, light from the left") == {
        "age": 1, "gender": 1, "blond": 1, "black_hair": -1, "glasses": 1, "light_left": 1}  # fmt: skip
    assert steering.wanted("a 25-year-old person without glasses") == {"age": -1, "glasses": -1}
    assert steering.wanted("portrait of a person", negative_prompt="smiling, eyeglasses") == {
        "smile": -1,
        "glasses": -1,
    }
    # what the prompt asks for wins over the negative prompt
    assert steering.wanted("a smiling man", negative_prompt="smile")["smile"] == 1
    assert steering.wanted("a serious person in golden hour") == {"smile": -1, "warm": 1}
    assert steering.wanted("a face") == {}


def test_steering_moves_only_faces_on_the_wrong_side(gan_file):
    gan = FaceGAN.from_pretrained(gan_file)
    dirs = gd.Directions.load(directions_path(gan_file))
    assert set(dirs.sides) == {"smile", "gender"} and dirs.sides["smile"][0] < dirs.sides["smile"][1]
    w = gan.ws(list(range(200)), 0.7)
    v = torch.from_numpy(dirs.vectors["smile"])
    neg, pos = dirs.sides["smile"]
    up = steering.steer(w, dirs, {"smile": 1})
    assert ((up @ v) >= pos - 1e-4).all()
    already = (w @ v) >= pos + steering.MARGIN * (pos - neg)
    assert torch.allclose(up[already], w[already])  # faces already smiling enough are untouched
    down = steering.steer(w, dirs, {"smile": -1})
    bright = [gan.synthesize(x, list(range(200))).mean() for x in (down, w, up)]
    assert bright[0] < bright[1] < bright[2]
    with pytest.raises(ValueError, match="no pc0 direction to steer by"):
        steering.steer(w, dirs, {"pc0": 1})


def test_gan_engine_generates_with_settings_and_refuses_what_it_cannot_do(gan_file):
    engine = FaceGANEngine(weights=gan_file)
    assert engine.availability()[0]
    seen = []
    images = engine.generate(Request("a smiling man", seed=5, n=3, truncation=0.5),
                             callback=lambda i, n, img: seen.append((i, n)))  # fmt: skip
    assert [im.size for im in images] == [(64, 64)] * 3 and seen == [(1, 3), (2, 3), (3, 3)]
    info = images[1].info
    assert (info["model"], info["engine"], info["seed"], info["truncation"], info["weights"]) == (
        "face-gan", "embedded", 6, 0.5, "tiny_gan")  # fmt: skip
    assert info["steered"] == {"gender": 1, "smile": 1}
    again = engine.generate(Request("a smiling man", seed=6, truncation=0.5))[0]
    assert np.abs(np.asarray(again, int) - np.asarray(images[1], int)).max() <= 1  # a seed is a face
    plain = engine.generate(Request("a person", seed=6, truncation=0.5))[0]
    assert not np.array_equal(np.asarray(plain), np.asarray(images[1]))  # the prompt steered it
    for request, error, message in [
        (Request("a man", steps=10), Unsupported, "step count"),
        (Request("a man", guidance=3), Unsupported, "guidance"),
        (Request("a man", sampler="euler"), Unsupported, "no sampler"),
        (Request("a man", width=512), Unsupported, "64x64 faces only"),
        (Request("a man", truncation=3), ValueError, "truncation 0 to 1.5"),
        (Request("a man", reroll=20), ValueError, "0 to 8 extra tries"),
    ]:
        with pytest.raises(error, match=message):
            engine.generate(request)
    with pytest.raises(Unsupported, match="not a GAN"):
        get_engine("face-diffusion").generate(Request("a man", truncation=0.5))
    with pytest.raises(Unsupported, match="cannot re-roll"):
        get_engine("flux-pro").generate(Request("a man", reroll=1))


def test_gan_edits_start_from_the_generated_face(gan_file, tmp_path):
    engine = FaceGANEngine(weights=gan_file)
    face = engine.generate(Request("a smiling woman", seed=9, n=1))[0]
    settings = dict(face.info)
    assert np.array_equal(engine.edit(settings, {}), np.asarray(face))
    brighter = engine.edit(settings, {"smile": 2})
    assert brighter.mean() > np.asarray(face).mean()
    with pytest.raises(ValueError, match="unknown direction"):
        engine.edit(settings, {"nose": 1})
    bare = tmp_path / "bare.safetensors"
    bare.write_bytes(gan_file.read_bytes())
    with pytest.raises(EngineUnavailable, match="no directions file"):
        FaceGANEngine(weights=bare).generate(Request("a smiling woman"))
    assert FaceGANEngine(weights=bare).generate(Request("a face"))[0].size == (64, 64)


@pytest.mark.slow
def test_cli_generates_and_edits_with_the_gan(gan_file, tmp_path):
    from portraitist.cli import main
    from portraitist.png import read_settings

    assert main(["generate", "a smiling man", "--model", "face-gan", "--weights", str(gan_file), "--n", "2",
                 "--truncation", "0.6", "--out", str(tmp_path / "g")]) == 0  # fmt: skip
    s = read_settings(tmp_path / "g" / "000001.png")
    assert (s["model"], s["truncation"], s["steered"]) == ("face-gan", 0.6, {"gender": 1, "smile": 1})
    assert main(["generate", "a man", "--model", "face-gan", "--weights", str(gan_file), "--steps", "9",
                 "--out", str(tmp_path / "x")]) == 2  # fmt: skip
    assert main(["edit", "--model", "face-gan", "--weights", str(gan_file), "--seed", "3", "--direction", "smile=+2",
                 "--out", str(tmp_path / "e")]) == 0  # fmt: skip
    assert read_settings(tmp_path / "e" / "after.png")["edits"] == {"smile": 2.0}


@pytest.mark.slow
def test_cli_finds_directions_with_the_attribute_reader(gan_file, tmp_path, capsys):
    from portraitist.cli import main

    out = tmp_path / "d.directions.safetensors"
    assert main(["directions", "--weights", str(gan_file), "--n", "200", "--out", str(out)]) == 0
    dirs = gd.Directions.load(out)
    assert {"pc0", "pc4"} <= set(dirs.vectors) and out.with_suffix(".png").exists()
    known = {"age", "gender", "smile", "glasses", "blond", "black_hair", "light_left", "warm"}
    assert set(dirs.sides) <= known
    assert {"light_left", "warm"} <= set(dirs.sides)  # split at the median: both sides always exist
    assert "wrote" in capsys.readouterr().out


@pytest.mark.slow
def test_cli_projects_a_real_photo_into_w_and_edits_it(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    from portraitist.cli import main
    from portraitist.png import read_settings

    photo = np.load("tests/data/reference_faces.npz")["gan"][0]  # a face the shipped GAN can reach
    Image.fromarray(photo).resize((128, 128)).save(tmp_path / "photo.jpg", quality=95)
    assert main(["edit", "--model", "face-gan", "--image", str(tmp_path / "photo.jpg"), "--direction", "smile=+2",
                 "--project-steps", "60", "--out", str(tmp_path / "p")]) == 0  # fmt: skip
    s = read_settings(tmp_path / "p" / "after.png")
    assert s["projected_from"] == "photo.jpg" and s["projection_psnr_db"] > 15
    assert "reconstruction PSNR" in capsys.readouterr().out
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    Image.new("RGB", (128, 128), "grey").save(tmp_path / "grey.jpg")
    for name in ("bad.jpg", "grey.jpg"):  # unreadable; no face: one line each, exit 2
        edit = [
            "edit",
            "--model",
            "face-gan",
            "--image",
            str(tmp_path / name),
            "--out",
            str(tmp_path / f"out-{name}"),
        ]
        assert main(edit) == 2
    assert "no face found in grey.jpg" in capsys.readouterr().err
    # the diffusion model edits a real photo too: inverted to its starting noise, then drawn again
    assert (
        main(
            [
                "edit",
                "--image",
                str(tmp_path / "photo.jpg"),
                "--direction",
                "age=+2",
                "--out",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )
    s = read_settings(tmp_path / "r" / "after.png")
    assert s["projected_from"] == "photo.jpg" and s["projection_psnr_db"] > 15


def test_cli_names_the_model_the_weights_make(tmp_path, capsys):
    """A text-conditioned file given to --model face-gan makes face-gan-text faces, and says so."""
    from portraitist.cli import main
    from portraitist.engines.embedded import GAN_TEXT_WEIGHTS
    from portraitist.png import read_settings

    assert main(["generate", "a smiling man", "--model", "face-gan", "--weights", str(GAN_TEXT_WEIGHTS), "--n", "1",
                 "--reroll", "0", "--out", str(tmp_path / "g")]) == 0  # fmt: skip
    assert read_settings(tmp_path / "g" / "000000.png")["model"] == "face-gan-text"
    assert "from face-gan-text to" in capsys.readouterr().out


def test_a_nearby_reroll_draws_a_variation_of_the_failed_face_and_records_it(gan_file, instruments):
    """With `reroll_nearby` a retry is a variation of the face that failed QA (it keeps whom the seed
    drew): recorded as one, so its settings alone repeat it exactly."""
    from dataclasses import replace

    engine = FaceGANEngine(weights=gan_file)
    engine.card = replace(engine.card, reroll_nearby=0.3)
    images = engine.generate(Request("a face", seed=5, n=8, reroll=2))
    retried = [img for img in images if "rerolled_from" in img.info]
    assert retried  # a random GAN's faces fail QA
    for img in retried:
        assert img.info["variation_of"] == img.info["rerolled_from"] and img.info["variation_strength"] == 0.3
        again = engine.generate(Request("a face", seed=img.info["seed"], n=1, reroll=0,
                                        variation_of=img.info["variation_of"], variation_strength=0.3))[0]  # fmt: skip
        # (a batch of one and of eight round apart by at most one level)
        assert np.abs(np.asarray(again, np.int16) - np.asarray(img, np.int16)).max() <= 1
    # a retry of a requested variation stays a new seed's variation of the same face
    varied = engine.generate(
        Request("a face", seed=20, n=4, reroll=2, variation_of=5, variation_strength=0.5)
    )
    assert all(img.info["variation_of"] == 5 and img.info["variation_strength"] == 0.5 for img in varied)


@pytest.mark.slow
def test_a_nearby_reroll_stays_nearer_the_failed_face_than_a_new_seed(instruments):
    """The shipped text GAN, the README prompt's 64 seeds, two retries: the faces a nearby re-roll
    keeps are nearer the faces they replace than a plain re-roll's are (what keeps whom it drew)."""
    from dataclasses import replace

    from portraitist.engines.embedded import FACE_GAN_TEXT, GAN_TEXT_WEIGHTS

    prompt = "close-up portrait of a smiling woman with blond hair"
    engine = FaceGANEngine(shipped=(GAN_TEXT_WEIGHTS, FACE_GAN_TEXT))
    own = np.stack(
        [np.asarray(i, np.float32) for i in engine.generate(Request(prompt, seed=0, n=64, reroll=0))]
    )

    def moved(nearby):
        engine.card = replace(FACE_GAN_TEXT, reroll_nearby=nearby)
        images = engine.generate(Request(prompt, seed=0, n=64, reroll=2))
        kept = [k for k, img in enumerate(images) if "rerolled_from" in img.info]
        return kept, [float(np.abs(np.asarray(images[k], np.float32) - own[k]).mean()) for k in kept]

    plain, near = moved(None), moved(0.3)
    assert len(plain[0]) >= 4 and len(near[0]) >= 4
    assert np.mean(near[1]) < 0.8 * np.mean(plain[1])
