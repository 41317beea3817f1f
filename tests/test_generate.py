"""Generation with a model file through the Python API: seeds, settings in PNG metadata, clear
errors. Uses a tiny randomly initialised model of the shipped classes (conftest's `model_file`), so
the real code path runs without weights."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from portraitist.api import generate, save
from portraitist.checkpoints import CheckpointError, save_weights
from portraitist.pipelines.face_diffusion import FaceDiffusion
from portraitist.png import read_settings


@pytest.fixture(scope="module")
def model(model_file):
    return FaceDiffusion.from_pretrained(model_file)


def test_same_seed_same_image_and_batches_are_seed_offsets(model_file):
    a = generate("a smiling woman", seed=5, num_images=3, weights=model_file)
    b = generate("a smiling woman", seed=6, num_images=1, weights=model_file)
    again = generate("a smiling woman", seed=5, num_images=3, weights=model_file)
    assert all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, again, strict=True))
    # the same face, up to float rounding that depends on the batch size (a level or two in a few pixels)
    diff = np.abs(np.asarray(a[1], dtype=int) - np.asarray(b[0], dtype=int))
    assert diff.max() <= 2 and diff.mean() < 0.05
    assert not np.array_equal(np.asarray(a[0]), np.asarray(a[1]))
    assert a[0].size == (64, 64)


def test_prompt_and_negative_prompt_change_the_result(model):
    def final_latent(prompt, negative=None):
        seen = []
        model.generate_seeds(
            prompt, negative, 4, 3.0, [1], "dpmpp_2m", callback=lambda i, x, d: seen.append(d)
        )
        return seen[0]

    base = final_latent("a smiling woman")
    scale = base.abs().mean()
    assert (base - final_latent("an old man with a beard")).abs().mean() > 0.01 * scale
    assert (base - final_latent("a smiling woman", "eyeglasses")).abs().mean() > 0.01 * scale
    assert torch.equal(base, final_latent("a smiling woman"))


@pytest.mark.parametrize("sampler", ["euler", "heun", "ddim", "dpmpp_2m"])
def test_every_sampler_runs(model_file, sampler):
    img = generate("a face", sampler=sampler, num_inference_steps=3, weights=model_file)[0]
    assert img.info["sampler"] == sampler


def test_saved_png_carries_every_setting(model_file, tmp_path):
    images = generate("portrait of a man", negative_prompt="blurry", num_inference_steps=4, guidance_scale=2.5,
                      seed=9, num_images=2, weights=model_file, reroll=0)  # fmt: skip
    paths = save(images, tmp_path, upscale=2)
    meta = read_settings(paths[0])
    assert meta["prompt"] == "portrait of a man" and meta["negative_prompt"] == "blurry"
    assert (meta["seed"], meta["steps"], meta["guidance"], meta["sampler"]) == (9, 4, 2.5, "dpmpp_2m")
    assert meta["native_resolution"] == "64x64" and meta["shown_at"] == "128x128"
    text = Image.open(paths[0]).text["parameters"]
    assert text.startswith("portrait of a man\nNegative prompt: blurry\n") and "Seed: 9" in text
    assert paths[-1].name == "grid.png"


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"prompt": ""}, "prompt is empty"),
        ({"prompt": "x" * 2001}, "limit is 2000"),
        ({"num_inference_steps": 0}, "takes 1 to 200 steps"),
        ({"num_inference_steps": 10_000}, "takes 1 to 200 steps"),
        ({"guidance_scale": -1}, "takes guidance 0 to 30"),
        ({"guidance_scale": float("nan")}, "must be a number"),
        ({"sampler": "magic"}, "has no sampler 'magic'"),
        ({"num_images": 500}, "makes 1 to 64 images"),
        ({"seed": -3}, "seed must be"),
        ({"num_images": 2.5}, "whole number"),
    ],
)
def test_absurd_settings_are_clear_errors(model_file, kwargs, match):
    args = {"prompt": "a face"} | kwargs
    with pytest.raises(ValueError, match=match):
        generate(args.pop("prompt"), weights=model_file, **args)


def test_missing_or_wrong_weights_are_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="train them"):
        FaceDiffusion.from_pretrained(tmp_path / "none.safetensors")
    other = tmp_path / "other.safetensors"
    save_weights(torch.nn.Linear(2, 2), other, {"kind": "something-else"})
    with pytest.raises(CheckpointError, match="is not portraitist diffusion weights"):
        FaceDiffusion.from_pretrained(other)


@pytest.mark.slow
def test_cli_generate(model_file, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "portraitist.cli", "generate", "a smiling woman", "--weights",
                           str(model_file), "--n", "2", "--steps", "3", "--seed", "4", "--out", str(tmp_path)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000004.png", "000005.png", "grid.png"]
    bad = subprocess.run([sys.executable, "-m", "portraitist.cli", "generate", "a face", "--weights", str(model_file),
                          "--steps", "0", "--out", str(tmp_path)], capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and "takes 1 to 200 steps, not 0" in bad.stderr


def test_a_negated_phrase_acts_as_the_negative_prompt(model):
    """ "without glasses" in the prompt gives exactly the faces of the negative prompt "glasses",
    also when only some prompts of a batch carry a negation. Compared at equal batch sizes: the
    same face from batches of other sizes may differ by a level in a few sub-pixels (float sums)."""
    mixed = model(["a person without glasses", "a man"], None, 4, 3.0, [1, 2], "euler")
    explicit = model(["a person", "a man"], ["glasses", None], 4, 3.0, [1, 2], "euler")
    assert np.array_equal(mixed, explicit)
    both = model("a person without glasses", "blurry", 4, 3.0, [1], "euler")
    assert np.array_equal(both, model("a person", "blurry, glasses", 4, 3.0, [1], "euler"))
