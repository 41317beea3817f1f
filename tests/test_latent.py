"""Latent-space tools on a tiny random generator (GAN side) and the tiny text-to-face model
(diffusion side): directions found and applied, interpolation, GIFs, projection, prompt edits."""

import numpy as np
import pytest
import torch
from PIL import Image

from portraitist.latent import gan_directions as gd
from portraitist.latent import prompt_edits as pe
from portraitist.nets.stylegan import Generator
from portraitist.pipelines.face_diffusion import FaceDiffusion
from portraitist.pipelines.face_gan import FaceGAN


@pytest.fixture(scope="module")
def gan():
    torch.manual_seed(0)
    G = Generator(16, z_dim=32, w_dim=32, base=8).eval().requires_grad_(False)
    with torch.no_grad():
        G.w_avg.copy_(G.mapping(torch.randn(2000, 32)).mean(0))
    return FaceGAN(G, {"resolution": 16})


def test_boundary_recovers_a_planted_direction_and_conditioning_makes_it_orthogonal():
    rng = np.random.default_rng(0)
    ws = rng.normal(size=(3000, 16)) @ rng.normal(size=(16, 16))  # correlated, as W is
    truth = rng.normal(size=16)
    truth /= np.linalg.norm(truth)
    found = gd.boundary(ws, ws @ truth > 0.3)
    projected = ws @ found
    assert np.corrcoef(projected, ws @ truth)[0, 1] > 0.9
    other = rng.normal(size=16)
    cond = gd.condition(found, [other])
    assert abs(cond @ other) < 1e-9 and np.isclose(np.linalg.norm(cond), 1)
    with pytest.raises(ValueError, match="both classes"):
        gd.boundary(ws, np.ones(len(ws), bool))
    axes, sd = gd.pca_directions(ws, 4)
    assert np.allclose(axes @ axes.T, np.eye(4), atol=1e-8) and np.all(np.diff(sd) <= 0)


def brightness_labels(images):
    b = images.mean(axis=(1, 2, 3))
    return {
        "bright": b > np.median(b),
        "red": images[..., 0].mean(axis=(1, 2)) > np.median(images[..., 0].mean(axis=(1, 2))),
    }


@pytest.mark.slow
def test_found_directions_edit_what_they_were_found_for(gan, tmp_path):
    dirs = gd.find_directions(
        gan, n=600, labeller=brightness_labels, conditional_on={"red": ["bright"]}, pcs=3
    )
    assert {"bright", "red", "pc0", "pc2"} <= set(dirs.vectors)
    assert abs(dirs.vectors["red"] @ dirs.vectors["bright"]) < 1e-6
    seeds = list(range(9000, 9040))
    w = gan.ws(seeds)
    means = [gan.synthesize(gd.edit_w(w, dirs, {"bright": s}), seeds).mean() for s in (-2, 0, 2)]
    assert means[0] < means[1] < means[2]
    path = dirs.save(tmp_path / "dirs.safetensors")
    again = gd.Directions.load(path)
    assert np.allclose(
        again.vectors["bright"], dirs.vectors["bright"], atol=1e-6
    ) and again.spread == pytest.approx(dirs.spread)
    with pytest.raises(ValueError, match="unknown direction"):
        gd.edit_w(w, dirs, {"nose": 1})
    with pytest.raises(ValueError, match="between -5 and 5"):
        gd.edit_w(w, dirs, {"bright": 50})


def test_interpolation_strips_and_gifs(gan, tmp_path):
    for space in ("w", "z"):
        frames = gd.interpolation_frames(gan, 1, 2, frames=5, space=space)
        assert frames.shape == (5, 16, 16, 3)
        assert np.array_equal(frames[0], gan.synthesize(gan.ws([1], 0.7), [1])[0])
    gif = gd.save_gif(frames, tmp_path / "a.gif", {"seed_a": 1, "seed_b": 2})
    with Image.open(gif) as im:
        assert im.n_frames == 8 and b"seed_a" in im.info["comment"]


@pytest.mark.slow
def test_projection_of_a_generated_face_reconstructs_it(gan):
    target = gan.generate([77], truncation=0.7)[0]
    w, recon, psnr = gd.project(gan, target, steps=150, seed=77)
    assert w.shape == (1, gan.G.num_ws, 32) and recon.shape == target.shape
    assert psnr > 22
    with pytest.raises(ValueError, match="16x16"):
        gd.project(gan, np.zeros((64, 64, 3), np.uint8))


def test_prompt_arithmetic_edits_and_interpolation(model_file):
    model = FaceDiffusion.from_pretrained(model_file)
    base = pe.edit(model, "portrait of a woman", 5, {}, None, 4, 3.0, "dpmpp_2m")
    same = model.generate_seeds("portrait of a woman", None, 4, 3.0, [5], "dpmpp_2m")[0]
    assert np.abs(base.astype(int) - same.astype(int)).max() <= 2  # no edit = the original face
    older = pe.edit(model, "portrait of a woman", 5, {"age": 2}, None, 4, 3.0, "dpmpp_2m")
    assert not np.array_equal(base, older)
    e = pe.edited_embedding(model, "portrait of a woman", {"age": 2, "smile": -1})
    assert torch.isclose(e.norm(), torch.tensor(1.0), atol=1e-4)
    with pytest.raises(ValueError, match="unknown direction"):
        pe.edit(model, "a face", 1, {"nose": 1}, None, 4, 3.0, "euler")
    with pytest.raises(ValueError, match="between -3 and 3"):
        pe.edit(model, "a face", 1, {"age": 9}, None, 4, 3.0, "euler")
    strip = pe.interpolate_prompts(model, "a young man", "an old man", 3, 4, 3, 3.0, "dpmpp_2m")
    assert strip.shape == (4, 64, 64, 3)
    seeds_strip = pe.interpolate_seeds(model, "a man", 1, 2, 3, 3, 3.0, "dpmpp_2m")
    end = model.generate_seeds("a man", None, 3, 3.0, [2], "dpmpp_2m")[0]
    assert np.abs(seeds_strip[-1].astype(int) - end.astype(int)).max() <= 2


@pytest.mark.slow
def test_cli_edit_and_interpolate(model_file, tmp_path, gan):
    from portraitist.checkpoints import save_weights
    from portraitist.cli import main
    from portraitist.png import read_settings

    assert main(["edit", "--prompt", "portrait of a woman", "--seed", "2", "--direction", "age=+1.5", "--weights", str(model_file),
                 "--out", str(tmp_path / "e")]) == 0  # fmt: skip
    assert read_settings(tmp_path / "e" / "after.png")["edits"] == {"age": 1.5}
    assert (
        main(
            [
                "edit",
                "--prompt",
                "a face",
                "--direction",
                "age",
                "--weights",
                str(model_file),
                "--out",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert main(["interpolate", "--prompt", "a man", "--seed-a", "1", "--seed-b", "2", "--frames", "3", "--weights",
                 str(model_file), "--out", str(tmp_path / "i")]) == 0  # fmt: skip
    assert (tmp_path / "i" / "interpolation.gif").exists()
    gan_file = save_weights(
        gan.G, tmp_path / "g.safetensors", {"kind": "stylegan", "resolution": 16, "base": 8, "z_dim": 32}
    )
    dirs = gd.find_directions(gan, n=300, labeller=brightness_labels, pcs=2)
    dirs.save(tmp_path / "g.directions.safetensors")
    assert main(["edit", "--model", "face-gan", "--weights", str(gan_file), "--seed", "4", "--direction", "bright=2",
                 "--out", str(tmp_path / "ge")]) == 0  # fmt: skip
    assert (
        np.asarray(Image.open(tmp_path / "ge" / "after.png")).mean()
        > np.asarray(Image.open(tmp_path / "ge" / "before.png")).mean()
    )
    assert main(["interpolate", "--model", "face-gan", "--weights", str(gan_file), "--space", "z", "--frames", "4",
                 "--out", str(tmp_path / "gi")]) == 0  # fmt: skip
