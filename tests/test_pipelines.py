"""One owner per concept: pipelines own their configuration and file format, the card owns a
request's ranges and defaults (Request.resolve), capabilities are asked of the card, and the
vocabulary is one module."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from portraitist import vocabulary
from portraitist.checkpoints import load_weights
from portraitist.diffusion.edm import Denoiser
from portraitist.diffusion.samplers import SAMPLERS
from portraitist.engines import Request, get_engine
from portraitist.engines.base import require
from portraitist.engines.embedded import FACE_DIFFUSION, FACE_GAN
from portraitist.errors import InvalidInput, Unsupported
from portraitist.nets.autoencoder import Autoencoder
from portraitist.nets.stylegan import Generator
from portraitist.nets.unet import UNet
from portraitist.pipelines.face_diffusion import WEIGHTS, FaceDiffusion, FaceDiffusionConfig, upgrade_legacy
from portraitist.pipelines.face_gan import FaceGAN


def test_a_diffusion_pipeline_of_any_configuration_round_trips(tmp_path):
    torch.manual_seed(0)
    ae = Autoencoder(ch=16, latent=8, factor=2)  # 32x32x8 latents
    unet = UNet(in_ch=8, ch=16, mults=(1, 2), attn_levels=(1,), emb_dim=64)
    pipe = FaceDiffusion(ae, Denoiser(unet, 0.5, "flow"), {})
    path = pipe.save_pretrained(tmp_path / "m.safetensors", train={"step": 3})
    loaded = FaceDiffusion.from_pretrained(path)
    assert loaded.config == pipe.config and loaded.latent_shape == (8, 32, 32)
    assert loaded.meta["train"] == {"step": 3} and loaded.denoiser.formulation == "flow"
    faces = loaded("a face", None, 2, 2.0, [0, 1], "euler")
    assert faces.shape == (2, 64, 64, 3) and faces.dtype == np.uint8


def test_the_shipped_diffusion_file_loads_through_the_legacy_converter():
    _, meta = load_weights(WEIGHTS)
    assert "config" not in meta  # written before configurations were saved
    config = upgrade_legacy(meta)
    assert config == FaceDiffusionConfig(unet=UNet(ch=48).config, formulation="edm", sigma_data=1.0)
    assert config.latent_shape == (4, 16, 16)


def test_a_gan_pipeline_round_trips_its_configuration(tmp_path):
    G = Generator(32, z_dim=16, w_dim=24, base=4, map_layers=2, cap=8)
    path = FaceGAN(G, {}).save_pretrained(tmp_path / "g.safetensors", train={"step": 1})
    loaded = FaceGAN.from_pretrained(path)
    assert loaded.G.config == G.config and loaded.G.w_dim == 24
    assert loaded.generate([0, 1], truncation=1.0).shape == (2, 32, 32, 3)


def test_resolve_fills_the_cards_defaults_and_checks_its_ranges():
    r = Request("a face").resolve(FACE_DIFFUSION)
    assert (r.seed, r.steps, r.guidance, r.sampler, r.truncation) == (0, 8, 3.0, "dpmpp_2m", None)
    g = Request("a face", seed=4).resolve(FACE_GAN)
    assert (g.seed, g.steps, g.truncation) == (4, None, 0.85)
    with pytest.raises(Unsupported, match="face-gan does not take a step count"):
        Request("a face", steps=8).resolve(FACE_GAN)
    with pytest.raises(Unsupported, match="has no truncation"):
        Request("a face", truncation=0.5).resolve(FACE_DIFFUSION)
    for bad in ({"guidance": float("nan")}, {"steps": "many"}, {"n": True}, {"seed": 2**60}):
        with pytest.raises(InvalidInput):
            Request("a face", **bad).resolve(FACE_DIFFUSION)


def test_capabilities_are_asked_of_the_card():
    assert {"edit", "interpolate", "project"} <= FACE_DIFFUSION.capabilities
    # the shipped weights have no identity input: a series starts from the face (api.series_person)
    assert (
        "reference" not in FACE_DIFFUSION.capabilities and {"series", "invert"} <= FACE_DIFFUSION.capabilities
    )
    require(FACE_GAN, "series")
    with pytest.raises(Unsupported, match="face-gan cannot start from a photo's inversion"):
        require(FACE_GAN, "invert")
    with pytest.raises(Unsupported, match="cannot edit"):
        require(get_engine("flux.1-dev").card, "edit")
    with pytest.raises(InvalidInput, match="does not take --directions"):
        get_engine("face-diffusion", directions="x.safetensors")


def test_the_cards_name_what_the_code_has():
    from portraitist.latent.prompt_edits import DIRECTIONS

    assert FACE_DIFFUSION.samplers == tuple(sorted(SAMPLERS))
    assert tuple(DIRECTIONS) == vocabulary.EDITS


def test_one_reading_of_a_prompt_for_steering_and_scoring():
    from portraitist.evaluation.adherence import requested
    from portraitist.latent.steering import wanted

    prompt = "portrait of a woman never smiling, without glasses"
    assert wanted(prompt) == {"gender": -1, "smile": -1, "glasses": -1}
    assert requested(prompt) == {"gender": "female", "smiling": False, "eyeglasses": False}
    assert vocabulary.split_negations(prompt) == ("portrait of a woman", ["smiling", "glasses"])
    # one age band for every reader: 47 is neither young nor old, 52 is old
    assert wanted("a 47-year-old man") == {"gender": 1} and wanted("a 52-year-old man") == {
        "gender": 1,
        "age": 1,
    }
    assert requested("a 52-year-old man")["age"] == vocabulary.age_band(52) == "old"
    # what the negative prompt avoids, unless the prompt asks for it
    assert wanted("a person", "blond hair, a man") == {"blond": -1, "gender": -1}
    assert requested("a person", "blond hair") == {"hair!": "blond"}


def test_a_pipelines_guidance_interval_changes_its_faces_and_is_saved(model_file, tmp_path):
    pipe = FaceDiffusion.from_pretrained(model_file)
    everywhere = pipe("a face", None, 4, 3.0, [0], "euler")
    pipe.guidance_interval = (0.5, 5.0)
    limited = pipe("a face", None, 4, 3.0, [0], "euler")
    assert not np.array_equal(everywhere, limited)
    again = FaceDiffusion.from_pretrained(pipe.save_pretrained(tmp_path / "i.safetensors"))
    assert again.guidance_interval == (0.5, 5.0)
    assert np.array_equal(again("a face", None, 4, 3.0, [0], "euler"), limited)


def test_autoguidance_extrapolates_from_a_weaker_model_with_the_same_condition():
    from portraitist.diffusion.guidance import autoguided

    torch.manual_seed(0)
    good, weak = (
        Denoiser(UNet(in_ch=4, ch=16, mults=(1, 2), attn_levels=(), emb_dim=32)).eval() for _ in range(2)
    )
    for net in (good.net, weak.net):
        torch.nn.init.normal_(net.out[-1].weight, std=0.1)
    x, sigma, cond = torch.randn(2, 4, 16, 16), torch.full((2,), 1.5), torch.randn(2, 384)
    with torch.no_grad():
        g, w = good(x, sigma, cond), weak(x, sigma, cond)
        assert torch.allclose(autoguided(good, weak, cond, 2.5)(x, sigma), w + 2.5 * (g - w), atol=1e-5)
        assert torch.equal(autoguided(good, weak, cond, 1.0)(x, sigma), g)
    pipe = FaceDiffusion.from_pretrained()
    plain = pipe("a face", None, 4, 3.0, [0], "euler")
    pipe.weak = FaceDiffusion.from_pretrained().denoiser  # the model guiding itself: no guidance at all
    assert np.abs(pipe("a face", None, 4, 3.0, [0], "euler").astype(int) - plain).max() > 0
    with pytest.raises(InvalidInput, match="no negative branch"):
        pipe("a face", "glasses", 4, 3.0, [0], "euler")
