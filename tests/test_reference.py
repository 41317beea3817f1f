"""Same person, new portrait: reference faces (alignment, embedding, metadata), the identity input
of the denoiser and its guidance, the engine card that says whether a model takes a reference, and
the CLI / Python API (`generate --face`, `series`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import job_settings
from PIL import Image

from portraitist import api
from portraitist.cli import main
from portraitist.diffusion.guidance import guided
from portraitist.engines import Request, get_engine
from portraitist.errors import InvalidInput, Unsupported
from portraitist.nets.unet import UNet
from portraitist.pipelines.face_diffusion import FaceDiffusion
from portraitist.png import read_marks, read_settings
from portraitist.reference import Reference

FACES = np.load("tests/data/reference_faces.npz")["gan"]  # three generated 64-px faces


def test_a_reference_is_the_aligned_face_its_embedding_and_a_digest():
    ref = Reference.from_image(FACES[0], "face0.png")
    assert ref.face.shape == (64, 64, 3) and ref.embedding.shape == (128,)
    assert np.linalg.norm(ref.embedding) == pytest.approx(1.0, abs=1e-4)
    again = Reference.from_image(Image.fromarray(FACES[0]), "again")
    assert again.digest == ref.digest and np.allclose(again.embedding, ref.embedding)
    other = Reference.from_image(FACES[1], "face1.png")
    # the same face enlarged 3x is still the same person; another face is not
    big = Reference.from_image(np.asarray(Image.fromarray(FACES[0]).resize((192, 192), Image.LANCZOS)), "big")
    assert float(big.embedding @ ref.embedding) > 0.6 > float(other.embedding @ ref.embedding)


def test_a_photo_without_one_face_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidInput, match="no face found in grey.png"):
        Reference.from_image(np.full((64, 64, 3), 128, np.uint8), "grey.png")
    pair = np.concatenate([FACES[0], FACES[1]], axis=1)
    with pytest.raises(InvalidInput, match="2 faces found in pair.png: crop it"):
        Reference.from_image(pair, "pair.png")
    with pytest.raises(InvalidInput, match="no such file"):
        Reference.from_file(tmp_path / "missing.png")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(InvalidInput):
        Reference.from_file(tmp_path / "bad.png")


def test_a_reference_round_trips_through_saved_settings_and_damage_is_reported():
    ref = Reference.from_image(FACES[2], "face2.png")
    settings = ref.to_settings()
    assert settings["reference_face"] == f"face2.png (sha256 {ref.digest})"
    back = Reference.from_settings(settings)
    assert back.name == "face2.png" and back.digest == ref.digest
    assert np.array_equal(back.embedding, ref.embedding)  # float16 both in use and in the file
    assert Reference.from_settings({"prompt": "x"}) is None
    with pytest.raises(InvalidInput, match="damaged"):
        Reference.from_settings(settings | {"reference_embedding": "AAAA"})


def test_identity_guidance_has_its_own_scale_and_equal_scales_are_plain_guidance():
    torch.manual_seed(0)
    net = UNet(in_ch=4, ch=16, mults=(1, 2), attn_levels=(), emb_dim=32, id_dim=128)
    torch.nn.init.normal_(net.identity[-1].weight, std=0.1)
    from portraitist.diffusion.edm import Denoiser

    den = Denoiser(net).eval()
    text, neg, ident = torch.randn(2, 384), torch.zeros(2, 384), torch.randn(2, 128)
    x, sigma = torch.randn(2, 4, 16, 16), torch.full((2,), 2.0)
    c, n, u = (den(x, sigma, net.condition(t, i)) for t, i in ((text, ident), (neg, ident), (neg, None)))
    three = guided(den, net.condition(text, ident), net.condition(neg, ident), 3.0,
                   unreferenced=net.condition(neg), identity_scale=1.5)(x, sigma)  # fmt: skip
    assert torch.allclose(three, u + 1.5 * (n - u) + 3.0 * (c - n), atol=1e-5)
    plain = guided(den, net.condition(text, ident), net.condition(neg), 3.0)(x, sigma)
    same = guided(den, net.condition(text, ident), net.condition(neg, ident), 3.0,
                  unreferenced=net.condition(neg), identity_scale=3.0)(x, sigma)  # fmt: skip
    assert torch.allclose(plain, same, atol=1e-5)
    with pytest.raises(ValueError, match="no identity input"):
        UNet(in_ch=4, ch=16, mults=(1,), attn_levels=(), emb_dim=32).condition(text, ident)


def test_a_model_trained_without_references_is_unchanged_by_adding_the_input():
    pipe = FaceDiffusion.from_pretrained()
    before = pipe("a smiling woman", None, 4, 3.0, [0, 1], "dpmpp_2m")
    pipe.denoiser.net.add_identity(128)
    assert pipe.takes_reference
    after = pipe("a smiling woman", None, 4, 3.0, [0, 1], "dpmpp_2m")
    assert np.array_equal(before, after)


def test_the_card_says_whether_the_weights_take_a_reference(identity_model_file):
    shipped = get_engine("face-diffusion")
    assert "reference" not in shipped.card.capabilities
    ref = Reference.from_image(FACES[0], "face0.png")
    with pytest.raises(Unsupported, match="cannot take a reference face"):
        shipped.generate(Request("a face", reference=ref))
    with pytest.raises(Unsupported, match="face-gan cannot take a reference face"):
        get_engine("face-gan").generate(Request("a face", reference=ref))
    engine = get_engine("face-diffusion", weights=str(identity_model_file))
    assert {"reference", "series"} <= engine.card.capabilities
    with pytest.raises(InvalidInput, match="identity guidance needs a reference"):
        engine.generate(Request("a face", identity_guidance=2.0))
    with pytest.raises(InvalidInput, match="identity guidance 0 to 30"):
        engine.generate(Request("a face", reference=ref, identity_guidance=99))


def test_a_reference_changes_the_faces_and_is_recorded(identity_model_file):
    ref = Reference.from_image(FACES[0], "face0.png")
    without = api.generate("a smiling woman", seed=3, num_images=2, weights=identity_model_file)
    with_ref = api.generate("a smiling woman", seed=3, num_images=2, weights=identity_model_file, face=ref)
    other = api.generate("a smiling woman", seed=3, num_images=2, weights=identity_model_file, face=FACES[1])
    a, b, c = (np.stack([np.asarray(i) for i in x]) for x in (without, with_ref, other))
    assert not np.array_equal(a, b) and not np.array_equal(b, c)
    info = with_ref[0].info
    assert info["reference_face"] == f"face0.png (sha256 {ref.digest})" and "reference_embedding" in info
    assert "reference_face" not in without[0].info


def test_cli_generate_face_then_from_repeats_the_pixels(tmp_path, identity_model_file, capsys):
    Image.fromarray(FACES[1]).save(tmp_path / "me.png")
    out = tmp_path / "out"
    assert main(["generate", "a serious man", "--face", str(tmp_path / "me.png"), "--weights",
                 str(identity_model_file), "--n", "1", "--seed", "5", "--identity-guidance", "2", "--reroll", "0", "--out", str(out)]) == 0  # fmt: skip
    made = out / "000005.png"
    settings, marks = read_settings(made), read_marks(made)
    assert settings["reference_face"].startswith("me.png (sha256 ") and settings["identity_guidance"] == 2.0
    assert marks["reference_face"] == settings["reference_face"]
    again = tmp_path / "again"
    assert (
        main(["generate", "--from", str(made), "--weights", str(identity_model_file), "--out", str(again)])
        == 0
    )
    assert np.array_equal(np.asarray(Image.open(made)), np.asarray(Image.open(again / "000005.png")))
    # the shipped model has no identity input: one clear line, exit 2
    assert main(["generate", "a face", "--face", str(tmp_path / "me.png"), "--out", str(tmp_path / "x")]) == 2
    assert "cannot take a reference face" in capsys.readouterr().err
    Image.new("RGB", (64, 64), "grey").save(tmp_path / "grey.png")
    assert (
        main(["generate", "a face", "--face", str(tmp_path / "grey.png"), "--out", str(tmp_path / "y")]) == 2
    )
    assert "no face found in grey.png" in capsys.readouterr().err


def test_series_of_one_person_from_a_seed_or_a_face(tmp_path, identity_model_file):
    out = tmp_path / "gan"
    assert main(["series", "--model", "face-gan", "--seed", "7", "--prompts", "smiling|not smiling",
                 "--out", str(out)]) == 0  # fmt: skip
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == ["000.png", "001.png", "grid.png"]
    assert read_settings(out / "grid.png")["prompts"] == "smiling | not smiling"
    assert [read_settings(out / n)["seed"] for n in names[:2]] == [7, 7]
    faces = api.series(["a smiling person", "a serious person"], seed=2, weights=identity_model_file)
    refs = {f.info["reference_face"] for f in faces}
    assert refs == {next(iter(refs))} and next(iter(refs)).startswith("seed 2 (sha256 ")
    with pytest.raises(InvalidInput, match="non-empty prompts"):
        api.series([], weights=identity_model_file)
    with pytest.raises(Unsupported, match="cannot take a reference face"):
        api.series(["a"], face=FACES[0], model="face-gan")


def test_http_api_takes_an_uploaded_photo_or_a_gallery_face_as_the_reference(tmp_path, identity_model_file):
    import io
    import time

    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from portraitist.studio.server import create_app

    def png(array) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(array).save(buf, format="PNG")
        return buf.getvalue()

    def finished(c, job_id) -> dict:
        for _ in range(3000):  # bounded poll; a job of one face takes well under a second here
            state = c.get(f"/api/jobs/{job_id}").json()
            if state["status"] in ("done", "failed", "cancelled"):
                return state
            time.sleep(0.02)
        raise AssertionError(state)

    app = create_app(tmp_path / "gallery", weights=str(identity_model_file))
    with TestClient(app) as c:
        up = c.post("/api/references", content=png(FACES[0]), headers={"Content-Type": "image/png"})
        assert up.status_code == 200, up.text
        ref = up.json()
        assert ref["reference_face"].startswith("uploaded photo (sha256 ") and ref["face"].startswith(
            "data:image/png"
        )
        bad = c.post("/api/references", content=png(np.full((64, 64, 3), 90, np.uint8)))
        assert bad.status_code == 422 and "no face found" in bad.json()["detail"]
        assert c.post("/api/references", content=b"junk").status_code == 422
        reference = {k: ref[k] for k in ("reference_face", "reference_embedding")}
        job = c.post(
            "/api/jobs", json={"prompt": "a smiling woman", "reference": reference, "identity_guidance": 2}
        )
        assert job.status_code == 202, job.text
        state = finished(c, job.json()["id"])
        assert state["status"] == "done", state
        image_id = state["images"][0]["id"]
        assert c.get(f"/api/images/{image_id}").json()["settings"]["reference_face"] == ref["reference_face"]
        again = c.post("/api/jobs", json={"prompt": "a serious woman", "reference_image": image_id})
        assert again.status_code == 202, again.text
        state = finished(c, again.json()["id"])
        settings = c.get(f"/api/images/{state['images'][0]['id']}").json()["settings"]
        assert settings["reference_face"].startswith(f"gallery image {image_id} (sha256 ")
        gan = c.post("/api/jobs", json={"prompt": "a face", "model": "face-gan", "reference": reference})
        assert gan.status_code == 422 and "cannot take a reference face" in gan.json()["detail"]
        damaged = c.post(
            "/api/jobs", json={"prompt": "a face", "reference": reference | {"reference_embedding": "xx"}}
        )
        assert damaged.status_code == 422 and "damaged" in damaged.json()["detail"]
        both = c.post(
            "/api/jobs", json={"prompt": "a face", "reference": reference, "reference_image": image_id}
        )
        assert both.status_code == 422
    app.state.jobs.shutdown()


def test_http_series_jobs_keep_one_person_and_seed(tmp_path, identity_model_file):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from portraitist.studio.server import create_app

    app = create_app(tmp_path / "gallery", weights=str(identity_model_file))
    with TestClient(app) as c:
        for model in ("face-gan", "face-diffusion"):
            settings = job_settings(c, {"prompt": "series", "model": model, "seed": 11,
                                        "series": ["a smiling person", "a serious person"]})  # fmt: skip
            assert [s["prompt"] for s in settings] == ["a smiling person", "a serious person"]
            assert {s["seed"] for s in settings} == {11}
            if model == "face-diffusion":  # the seed's face is the reference of every portrait
                assert {s["reference_face"] for s in settings} == {settings[0]["reference_face"]}
                assert settings[0]["reference_face"].startswith("seed 11 (sha256 ")
        too_many = c.post("/api/jobs", json={"prompt": "s", "series": ["a"] * 13})
        assert too_many.status_code == 422
        # the shipped weights have no identity input: each portrait branches off the seed's own path
        shipped = create_app(tmp_path / "g2")
        with TestClient(shipped) as c2:
            settings = job_settings(
                c2, {"prompt": "s", "seed": 11, "series": ["a smiling person", "a serious person"]}
            )
            assert [s["branch_from"] for s in settings] == [api.SERIES_BASE_PROMPT] * 2
            assert "reference_face" not in settings[0] and "init_image" not in settings[0]
        shipped.state.jobs.shutdown()
    app.state.jobs.shutdown()


def test_edits_of_a_model_with_an_identity_input_take_the_unedited_face_as_reference(identity_model_file):
    from portraitist.latent.prompt_edits import edit

    pipe = FaceDiffusion.from_pretrained(identity_model_file)
    args = ("portrait photo of a person", 4, {"age": 2.0}, None, 6, 3.0, "dpmpp_2m")
    kept, plain = edit(pipe, *args), edit(pipe, *args, keep_person=False)
    assert not np.array_equal(kept, plain)  # the reference input was used
    unedited = edit(pipe, "portrait photo of a person", 4, {}, None, 6, 3.0, "dpmpp_2m")
    assert np.array_equal(unedited, pipe("portrait photo of a person", None, 6, 3.0, [4], "dpmpp_2m")[0])
    # a face made from a reference is edited with that reference
    engine = get_engine("face-diffusion", weights=str(identity_model_file))
    ref = Reference.from_image(FACES[0], "face0.png")
    made = engine.generate(Request("portrait photo of a person", seed=4, steps=6, reference=ref))[0]
    again = engine.edit(made.info, {})
    assert np.array_equal(again, np.asarray(made))


def test_a_real_photo_is_inverted_and_edited_by_the_diffusion_model():
    from portraitist.latent.prompt_edits import Inverted

    engine = get_engine("face-diffusion")
    face = Reference.from_image(FACES[2], "photo").face
    latent, back, psnr = engine.project(face)
    assert isinstance(latent, Inverted) and latent.noise.shape == (1, 4, 16, 16) and psnr > 15
    assert np.array_equal(engine.edit({}, {}, latent=latent), back)
    older = engine.edit({}, {"age": 2.0}, latent=latent)
    assert np.abs(older.astype(int) - back).mean() > 2  # the edit changes the face
    with pytest.raises(InvalidInput, match="64x64"):
        engine.project(np.zeros((32, 32, 3), np.uint8))
