"""The StyleGAN-style generator, differentiable augmentation, the failure-mode monitors (each
provoked on purpose), and the GAN trainer's checkpoints and export."""

import json

import numpy as np
import pytest
import torch
from conftest import synthetic_face
from PIL import Image

from portraitist.checkpoints import load_weights, save_weights
from portraitist.engines import Request
from portraitist.engines.embedded import FaceGANEngine
from portraitist.errors import InvalidInput
from portraitist.latent.gan_directions import interpolation_frames
from portraitist.nets.stylegan import Discriminator, Generator
from portraitist.pipelines.face_gan import FaceGAN
from portraitist.training import gan as gan_trainer
from portraitist.training.augment import AdaptiveP, augment
from portraitist.training.gan_health import HealthLog, diversity


def test_generator_and_discriminator_shapes_truncation_and_mixing():
    torch.manual_seed(0)
    for res in (16, 32, 64):
        G, D = Generator(res, z_dim=32, w_dim=32, base=8), Discriminator(res, base=8)
        z = torch.randn(4, 32)
        x = G(z)
        assert x.shape == (4, 3, res, res) and D(x).shape == (4,)
    G.w_avg.copy_(torch.randn(32))
    w = G.ws(z)
    assert torch.allclose(G.ws(z, truncation=0.0), G.w_avg.expand(4, -1))
    assert (G.ws(z, 0.5) - G.w_avg).norm() < (w - G.w_avg).norm()
    per_layer = w.unsqueeze(1).repeat(1, G.num_ws, 1)
    assert torch.allclose(G.synthesis(per_layer, noise_seed=1), G.synthesis(w, noise_seed=1), atol=1e-5)
    per_layer[:, 4:] = G.ws(torch.randn(4, 32)).unsqueeze(1)  # style mixing changes the image
    assert not torch.allclose(G.synthesis(per_layer, noise_seed=1), G.synthesis(w, noise_seed=1))
    with pytest.raises(ValueError, match="power of two"):
        Generator(48)


def test_augmentation_is_differentiable_and_adaptive():
    x = (torch.rand(8, 3, 32, 32) * 2 - 1).requires_grad_(True)
    assert augment(x, 0.0) is x
    g = torch.Generator().manual_seed(0)
    y = augment(x, 1.0, g)
    assert y.shape == x.shape and not torch.allclose(y, x)
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    ada = AdaptiveP(target=0.6, interval=2, speed=0.1)
    for _ in range(10):
        ada.update(torch.ones(16))  # D sure of every real face: r_t = 1
    assert ada.rt == 1.0 and ada.p == pytest.approx(0.5)
    for _ in range(20):
        ada.update(-torch.ones(16))
    assert ada.p == 0.0


def test_monitors_fire_on_each_failure_and_plot(tmp_path):
    log = HealthLog()
    assert log.observe_step(0, d_loss=1.0, g_loss=0.9) == []
    assert log.observe_step(1, d_loss=50.0, g_loss=0.9) == []  # early training is jumpy: no alarm yet
    for step in range(2, 1050):
        assert log.observe_step(step, d_loss=1.0 + 0.001 * step, g_loss=0.9) == []
    (spike,) = log.observe_step(1050, d_loss=50.0, g_loss=0.9)
    assert (spike.failure, spike.action) == ("instability", "lower_lr")
    assert log.observe_step(1051, d_loss=60.0, g_loss=0.9) == []  # the same spike: one action
    (nan,) = log.observe_step(1052, d_loss=float("nan"), g_loss=0.9)
    assert (nan.failure, nan.action) == ("instability", "restore")
    (over,) = log.observe_overfitting(32, rt=0.95)
    assert (over.failure, over.action) == ("overfitting", "raise_augment")
    (gap,) = log.observe_overfitting(33, rt=0.5, logit_train=3.0, logit_heldout=0.5)
    assert "held-out" in gap.message
    assert log.observe_overfitting(34, rt=0.5, logit_train=1.0, logit_heldout=0.8) == []
    for step, value in enumerate([0.5, 0.7, 0.8, 0.8]):
        assert log.observe_diversity(40 + step, value, real=1.0) == []
    (collapse,) = log.observe_diversity(50, 0.2, real=1.0)
    assert (collapse.failure, collapse.action) == ("mode_collapse", "restore")
    log.to_json(tmp_path / "health.json")
    again = HealthLog.from_json(tmp_path / "health.json")
    assert again.events == log.events and again.best_diversity == log.best_diversity
    plot = log.plot(tmp_path / "health.png")
    assert Image.open(plot).size[0] > 500


def test_collapse_monitor_sees_a_generator_that_ignores_z():
    torch.manual_seed(0)
    G = Generator(32, z_dim=32, w_dim=32, base=8)
    z = torch.randn(32, 32)
    log = HealthLog()
    with torch.no_grad():
        real = diversity(torch.rand(32, 3, 32, 32) * 2 - 1)
        for step in range(4):
            log.observe_diversity(step, diversity(G(z)), real)
        for layer in G.mapping.net:  # provoke collapse: every z maps to the same w
            layer.weight.zero_()
        for layer in G.layers:
            layer.noise_strength.zero_()
        events = log.observe_diversity(5, diversity(G(z)), real)
    assert diversity(G(z)) < 1e-6
    assert [e.failure for e in events] == ["mode_collapse"]


@pytest.fixture(scope="module")
def tiny_faces(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faces")
    rng = np.random.default_rng(0)
    for i in range(48):
        Image.fromarray(synthetic_face(rng, 32)).save(folder / f"{i:03d}.png")
    return folder


def run_gan(folder, out, *extra):
    return gan_trainer.main(["--data", str(folder), "--resolution", "16", "--base", "8", "--z-dim", "32",
                             "--batch", "8", "--minutes", "5", "--out", str(out), "--check-every", "10",
                             "--sample-minutes", "0.05", *extra])  # fmt: skip


@pytest.mark.slow
def test_absurd_learning_rate_trips_the_instability_monitor(tiny_faces, tmp_path):
    state = run_gan(tiny_faces, tmp_path / "run", "--lr", "20", "--steps", "60")
    failures = {e["failure"] for e in state["events"]}
    assert "instability" in failures
    assert state["lr"]["g"] < 20  # it acted: learning rates halved
    assert (tmp_path / "run" / "health.png").exists() and (tmp_path / "run" / "health.json").exists()


@pytest.mark.slow
def test_tiny_dataset_trips_the_overfitting_monitor(tmp_path):
    folder = tmp_path / "four"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(6):
        Image.fromarray(synthetic_face(rng, 32)).save(folder / f"{i}.png")
    state = run_gan(folder, tmp_path / "run", "--lr", "0.004", "--steps", "300", "--r1-gamma", "0")
    over = [e for e in state["events"] if e["failure"] == "overfitting"]
    assert over and all(e["action"] == "raise_augment" for e in over)
    assert state["ada_p"] > 0


@pytest.mark.slow
def test_gan_trainer_resumes_and_exports(tiny_faces, tmp_path):
    out = tmp_path / "run"
    first = run_gan(tiny_faces, out, "--steps", "6", "--checkpoint-minutes", "0.001")
    assert first["step"] == 6 and (out / "ckpt" / "state.json").exists()
    second = run_gan(
        tiny_faces, out, "--steps", "10", "--resume", "--export", str(tmp_path / "g.safetensors")
    )
    assert second["step"] == 10 and second["images"] == 80
    gan = FaceGAN.from_pretrained(tmp_path / "g.safetensors")
    a, b = gan.generate([3, 4], 0.85), gan.generate([3], 0.85)
    assert a.shape == (2, 16, 16, 3) and a.dtype == np.uint8
    assert np.abs(a[0].astype(int) - b[0].astype(int)).max() <= 1  # a seed is a face, alone or in a batch


def test_gradient_penalty_is_the_squared_gradient_norm():
    class Linear(torch.nn.Module):  # D(x) = <a, x>: its gradient is a at every image
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.randn(1, 3, 8, 8))

        def forward(self, x, c=None):
            return (x * self.a).sum(dim=(1, 2, 3))

    D = Linear()
    penalty = gan_trainer.gradient_penalty(D, torch.randn(4, 3, 8, 8), p=0.0)
    assert penalty.item() == pytest.approx(D.a.pow(2).sum().item(), rel=1e-5)
    penalty.backward()  # differentiable in D's weights, which is what the penalty trains
    assert torch.allclose(D.a.grad, 2 * D.a.detach())


def test_relativistic_loss_judges_each_generated_face_against_a_real_one():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, 0.5])
    d, g = gan_trainer.adversarial_losses("relativistic", real, fake)
    assert d.item() == pytest.approx(torch.nn.functional.softplus(fake - real).mean().item())
    assert g.item() == pytest.approx(torch.nn.functional.softplus(real - fake).mean().item())
    # moving every logit by the same amount changes nothing (the logistic loss is not so)
    assert gan_trainer.adversarial_losses("relativistic", real + 3, fake + 3)[0].item() == pytest.approx(
        d.item()
    )
    assert gan_trainer.adversarial_losses("logistic", real + 3, fake + 3)[0].item() != pytest.approx(
        gan_trainer.adversarial_losses("logistic", real, fake)[0].item()
    )


@pytest.mark.slow
def test_gan_trainer_runs_the_r3gan_recipe(tiny_faces, tmp_path):
    state = run_gan(
        tiny_faces, tmp_path / "run", "--loss", "relativistic", "--r2-gamma", "0.1", "--steps", "17"
    )
    assert state["step"] == 17  # two penalised steps (0 and 16)
    saved = json.loads((tmp_path / "run" / "ckpt" / "state.json").read_text())["args"]
    assert saved["loss"] == "relativistic" and saved["r2_gamma"] == 0.1


def test_mode_seeking_falls_as_different_latents_give_more_different_faces():
    z = torch.randn(4, 8)
    same = torch.zeros(4, 3, 8, 8)
    apart = torch.cat([torch.zeros(2, 3, 8, 8), torch.ones(2, 3, 8, 8)])  # each pair differs by 1 everywhere
    ratio = (z[:2] - z[2:]).abs().mean(dim=1)  # |pixel difference| is 1: the term is the mean latent gap
    assert gan_trainer.mode_seeking(apart, z).item() == pytest.approx((1 / (1 / ratio + 1e-5)).mean().item())
    assert gan_trainer.mode_seeking(same, z).item() > 1e4  # one face for two latents: the largest penalty
    faces = torch.rand(4, 3, 8, 8, requires_grad=True)
    gan_trainer.mode_seeking(faces, z).backward()
    step = faces - 0.1 * faces.grad  # a gradient step moves each pair's faces apart
    assert (step[:2] - step[2:]).abs().mean() > (faces[:2] - faces[2:]).abs().mean()
    # compared at 16 px: a pair that differs only in pixel-level stripes counts as one face
    flat, shifted = torch.zeros(2, 3, 64, 64), torch.ones(2, 3, 64, 64)
    stripes = (torch.arange(64) % 2 * 2 - 1).float().expand(2, 3, 64, 64)  # +-1 columns: 0 over 4 px
    assert gan_trainer.mode_seeking(torch.cat([flat, stripes]), z) > 100 * gan_trainer.mode_seeking(
        torch.cat([flat, shifted]), z
    )


def test_conditional_networks_take_a_condition_and_truncate_towards_its_own_centre():
    torch.manual_seed(0)
    G, D = Generator(16, z_dim=32, w_dim=32, base=8, c_dim=12), Discriminator(16, base=8, c_dim=12)
    z, c = torch.randn(4, 32), torch.randn(2, 12)
    a, b = G(z, c=c[:1]), G(z, c=c[1:])
    assert a.shape == (4, 3, 16, 16) and not torch.allclose(a, b)  # the condition changes the faces
    assert D(a, c[:1]).shape == (4,) and not torch.allclose(D(a, c[:1]), D(a, c[1:]))
    assert G.config["c_dim"] == 12 and "c_dim" not in Generator(16, base=8).config
    # truncation 0 is the condition's own average face, not the unconditional average
    assert torch.allclose(G.ws(z, 0.0, c[:1]), G.centre(c[:1]).expand(4, -1), atol=1e-5)
    assert not torch.allclose(G.centre(c[:1]), G.centre(c[1:]))
    both = G.centre(torch.cat([c, c[:1]]), 3)
    assert torch.allclose(both[0], both[2]) and torch.allclose(both[1], G.centre(c[1:])[0], atol=1e-5)
    with pytest.raises(ValueError, match="needs a condition"):
        G(z)
    with pytest.raises(ValueError, match="takes no condition"):
        Generator(16, z_dim=32, w_dim=32, base=8)(z, c=c[:1])
    with pytest.raises(ValueError, match="shape"):
        D(a, torch.randn(3, 12))


def test_a_conditional_gan_file_follows_its_prompt_and_negative_prompt(tmp_path):
    torch.manual_seed(0)
    G = Generator(16, z_dim=32, w_dim=32, base=8, c_dim=384)
    path = FaceGAN(G, {}).save_pretrained(tmp_path / "c.safetensors")
    gan = FaceGAN.from_pretrained(path)
    assert gan.conditional and not FaceGAN(Generator(16, base=8), {}).conditional
    smiling = gan.generate([1, 2], 0.85, prompt="a smiling woman")
    assert not np.array_equal(smiling, gan.generate([1, 2], 0.85, prompt="an old man with a beard"))
    assert np.array_equal(
        gan.generate([1], 0.85), gan.generate([1], 0.85, prompt="portrait photo of a person")
    )
    away = gan.generate([1], 0.85, prompt="a smiling woman", negative="glasses")
    assert not np.array_equal(away, smiling[:1])
    # a negated phrase in the prompt works as the negative prompt
    assert np.array_equal(gan.generate([1], 0.85, prompt="a smiling woman without glasses"), away)


def test_a_shift_moves_every_face_by_one_step_between_two_prompts_averages(tmp_path):
    torch.manual_seed(0)
    gan = FaceGAN(Generator(16, z_dim=32, w_dim=32, base=8, c_dim=384), {})
    w = gan.ws([1, 2], 0.85, "a woman")
    step = gan.shift(w, "a smiling woman", "a woman") - w
    assert torch.allclose(step[0], step[1]) and step.abs().max() > 0  # one step, the same for both faces
    assert torch.allclose(gan.shift(w, "a woman", "a woman"), w)
    assert torch.allclose(gan.shift(w, "a smiling woman", "a woman", 0.0), w)
    per_layer = w[:, None].expand(-1, gan.G.num_ws, -1)
    assert torch.allclose(gan.shift(per_layer, "a smiling woman", "a woman")[:, 3], w + step, atol=1e-6)


def test_a_conditional_gan_interpolates_between_seeds_and_prompts_and_has_its_own_card(tmp_path):
    torch.manual_seed(0)
    path = FaceGAN(Generator(16, z_dim=32, w_dim=32, base=8, c_dim=384), {}).save_pretrained(
        tmp_path / "c.safetensors"
    )
    gan = FaceGAN.from_pretrained(path)
    woman, man = "a smiling woman", "an old man with a beard"
    frames = interpolation_frames(gan, 1, 1, frames=3, prompts=(woman, man))
    assert np.array_equal(frames[0], gan.generate([1], 0.7, prompt=woman)[0])
    assert np.array_equal(frames[-1], gan.generate([1], 0.7, prompt=man)[0])
    z = interpolation_frames(gan, 1, 2, frames=3, space="z", prompts=(woman, woman))
    assert np.array_equal(z[-1], gan.synthesize(gan.ws([2], 0.7, woman), [1])[0])
    with pytest.raises(ValueError, match="one prompt"):
        interpolation_frames(gan, 1, 2, space="z", prompts=(woman, man))
    engine = FaceGANEngine(weights=path)
    # the card follows the file: a text-conditioned one is the shipped face-gan-text's kind
    assert engine.card.name == "face-gan-text" and "ethnicity" in engine.card.honours
    assert "text-conditioned" in engine.card.notes and "ethnicity" not in FaceGANEngine().card.honours
    strip = engine.interpolate({"seed": 3, "prompt": woman}, {"seed": 3, "prompt": man}, 4)
    assert np.array_equal(strip[-1], gan.generate([3], 0.7, prompt=man)[0])


def test_a_conditional_gans_guidance_pushes_past_the_prompts_average(tmp_path):
    torch.manual_seed(0)
    path = FaceGAN(Generator(16, z_dim=32, w_dim=32, base=8, c_dim=384), {}).save_pretrained(
        tmp_path / "c.safetensors"
    )
    gan, prompt = FaceGAN.from_pretrained(path), "a smiling woman without glasses"
    w = gan.ws([4, 5], 0.85, prompt)
    assert torch.equal(gan.ws([4, 5], 0.85, prompt, guidance=1.0), w)
    pushed = gan.ws([4, 5], 0.85, prompt, guidance=2.5)
    # the step is from the vague prompt's average to the prompt's, negation left out
    assert torch.allclose(
        pushed, gan.shift(w, "a smiling woman", "portrait photo of a person", 1.5), atol=1e-6
    )
    engine = FaceGANEngine(weights=path)
    assert engine.card.guidance == (0.0, 5.0) and engine.card.default_guidance == 1.0
    default, guided = (
        np.asarray(engine.generate(Request(prompt, seed=4, reroll=0, guidance=g))[0]) for g in (None, 2.5)
    )
    assert np.array_equal(default, gan.generate([4], 0.85, prompt)[0])
    assert np.array_equal(guided, gan.synthesize(pushed[:1], [4])[0])
    edited = engine.edit({"prompt": prompt, "seed": 4, "guidance": 2.5}, {})
    assert np.array_equal(edited, guided)  # a face's saved guidance makes the same face again
    with pytest.raises(ValueError, match="guidance"):
        engine.generate(Request(prompt, guidance=9.0))
    with pytest.raises(ValueError, match="guidance"):
        FaceGANEngine().generate(Request(prompt, guidance=2.0))  # the unconditional GAN takes none


def test_the_shipped_text_conditioned_gan_reads_its_prompt():
    from portraitist import api

    woman, man = (api.generate(p, seed=3, model="face-gan-text", reroll=0)[0]
                  for p in ("portrait photo of a young woman with blond hair", "portrait photo of an old man"))  # fmt: skip
    assert woman.info["model"] == "face-gan-text" and woman.info["weights"] == "face_gan_text"
    assert np.abs(np.asarray(woman, int) - np.asarray(man, int)).mean() > 10  # one seed, two prompts
    again = api.generate(
        "portrait photo of a young woman with blond hair", seed=3, model="face-gan-text", reroll=0
    )
    assert np.array_equal(np.asarray(again[0]), np.asarray(woman))  # a prompt and a seed are a face


@pytest.mark.slow
def test_gan_trainer_learns_from_captions(demographic_pack, tmp_path):
    state = gan_trainer.main(["--data", str(demographic_pack), "--captions", "--per-pack", "20", "--sparse-captions", "0.5",
                              "--mode-seeking", "1", "--resolution", "16", "--base", "8", "--z-dim", "32", "--batch", "4", "--steps", "3",
                              "--check-every", "2", "--out", str(tmp_path / "run"),
                              "--export", str(tmp_path / "c.safetensors")])  # fmt: skip
    assert state["step"] == 3
    gan = FaceGAN.from_pretrained(tmp_path / "c.safetensors")
    assert gan.conditional and gan.G.config["c_dim"] == 384
    assert gan.generate([0], 1.0, prompt="a woman").shape == (1, 16, 16, 3)
    assert json.loads((tmp_path / "run" / "ckpt" / "state.json").read_text())["args"]["mode_seeking"] == 1
    with pytest.raises(SystemExit):
        gan_trainer.parse(["--sparse-captions", "0.5"])  # only with --captions
    for bad in (
        ["--mode-seeking", "-1"],
        ["--mode-seeking", "1", "--batch", "5"],
    ):  # pairs need an even batch
        with pytest.raises(SystemExit):
            gan_trainer.parse(bad)


def conditional_run(pack, out, *extra):
    return gan_trainer.main(["--data", str(pack), "--captions", "--per-pack", "30", "--resolution", "16",
                             "--base", "8", "--z-dim", "32", "--batch", "4", "--check-every", "1000",
                             "--out", str(out), *extra])  # fmt: skip


def saved_weights(run, name):
    tensors = load_weights(run / "ckpt" / "weights.safetensors")[0]
    return {k[len(name) + 1 :]: v for k, v in tensors.items() if k.startswith(f"{name}.")}


@pytest.mark.slow
def test_a_campaign_pack_carries_the_run_to_a_new_machine(demographic_pack, tmp_path):
    pack, export = tmp_path / "run.pack.safetensors", tmp_path / "g.safetensors"
    conditional_run(demographic_pack, tmp_path / "a", "--steps", "3", "--mismatch", "1", "--pack", str(pack),
                    "--export", str(export))  # fmt: skip
    # a new machine: no run folder, only the pack; --steps 3 with a pack at step 3 trains nothing
    state = conditional_run(demographic_pack, tmp_path / "b", "--steps", "3", "--init-from", str(pack),
                            "--lr", "0.001", "--g-lr", "0.0005")  # fmt: skip
    assert state["step"] == 3 and state["images"] == 12
    assert state["lr"] == {"g": 0.0005, "d": 0.001}  # a new run's rates are its own flags
    for name in ("G", "D", "ema"):
        was, now = saved_weights(tmp_path / "a", name), saved_weights(tmp_path / "b", name)
        assert all(torch.allclose(was[k], now[k], atol=2e-3, rtol=1e-3) for k in was)  # float16 in the pack
    # from an exported generator: a new discriminator learns alone for --d-warmup steps
    state = conditional_run(demographic_pack, tmp_path / "c", "--steps", "5", "--init-from", str(export),
                            "--d-warmup", "2")  # fmt: skip
    assert state["step"] == 5 and state["images"] == 20
    exported = {k: v.float() for k, v in load_weights(export)[0].items()}
    assert all(torch.equal(exported[k], v) for k, v in saved_weights(tmp_path / "c", "G").items())
    assert not torch.equal(
        saved_weights(tmp_path / "c", "D")["out.weight"], saved_weights(tmp_path / "a", "D")["out.weight"]
    )


def test_init_from_refuses_what_it_cannot_continue(tmp_path):
    args = gan_trainer.parse(["--captions", "--resolution", "16", "--base", "8", "--z-dim", "32"])
    G, D = gan_trainer.networks(args)
    other = Generator(16, z_dim=32, w_dim=32, base=16, c_dim=384)
    FaceGAN(other, {}).save_pretrained(tmp_path / "wider.safetensors")
    with pytest.raises(InvalidInput, match="its generator is"):
        gan_trainer.start_from(tmp_path / "wider.safetensors", {"G": G, "D": D, "ema": G})
    save_weights(D, tmp_path / "d.safetensors", {"kind": "something else"})
    with pytest.raises(InvalidInput, match="neither a campaign pack nor an exported generator"):
        gan_trainer.start_from(tmp_path / "d.safetensors", {"G": G, "D": D, "ema": G})
    for bad in (
        ["--mismatch", "1"],  # only with --captions
        ["--captions", "--mismatch", "-1"],
        ["--d-warmup", "-3"],
        ["--g-lr", "0"],
        ["--init-from", "x.safetensors", "--resume"],
    ):
        with pytest.raises(SystemExit):
            gan_trainer.parse(bad)


@pytest.mark.slow
def test_the_matching_aware_term_teaches_the_discriminator_to_read_the_caption(demographic_pack, tmp_path):
    def caption_gap(mismatch: str) -> float:
        """Mean logit of training faces with their own caption minus with another face's."""
        run = tmp_path / f"m{mismatch}"
        argv = ["--steps", "150", "--d-warmup", "150", "--mismatch", mismatch, "--lr", "0.004"]
        conditional_run(demographic_pack, run, *argv)
        args = gan_trainer.parse(["--data", str(demographic_pack), "--captions", "--per-pack", "30",
                                  "--resolution", "16", "--base", "8", "--z-dim", "32"])  # fmt: skip
        D = gan_trainer.networks(args)[1]
        D.load_state_dict(saved_weights(run, "D"))
        real, c = gan_trainer.CaptionedFaces(args, None).sample(64, np.random.default_rng(5), sparse=False)
        with torch.no_grad():
            return float((D(real, c) - D(real, c.roll(1, 0))).mean())

    with_term, without = caption_gap("2"), caption_gap("0")
    print(f"caption gap with the term {with_term:.3f}, without {without:.3f}")
    assert with_term > without + 0.1
