"""Training machinery: atomic checkpoints, resume, SIGKILL survival, DDP replicas in sync."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from portraitist.checkpoints import CheckpointError
from portraitist.nets.autoencoder import Autoencoder
from portraitist.training.loop import EMA, cosine_lr, load_checkpoint, save_checkpoint

PY = sys.executable


def test_checkpoint_round_trip_restores_networks_optimizer_and_rng(tmp_path):
    net = torch.nn.Linear(4, 3)
    ema = EMA(net)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    net(torch.randn(2, 4)).sum().backward()
    opt.step()
    save_checkpoint(tmp_path, {"model": net, "ema": ema.module}, opt, {"step": 7})
    expected_rand = torch.rand(3)
    net2, ema2 = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    opt2 = torch.optim.AdamW(net2.parameters(), lr=1e-3)
    state = load_checkpoint(tmp_path, {"model": net2, "ema": ema2}, opt2)
    assert state["step"] == 7
    assert torch.equal(net.weight, net2.weight)
    assert torch.equal(opt.state_dict()["state"][0]["exp_avg"], opt2.state_dict()["state"][0]["exp_avg"])
    assert torch.equal(torch.rand(3), expected_rand)  # the RNG continues where it was saved


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    net = torch.nn.Linear(4, 3)
    save_checkpoint(tmp_path, {"model": net}, None, {"step": 1})
    w = tmp_path / "ckpt" / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:50])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(tmp_path, {"model": net})
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "empty", {"model": net})


def test_checkpoint_that_does_not_fit_is_a_clear_error(tmp_path):
    save_checkpoint(tmp_path, {"model": torch.nn.Linear(4, 3)}, None, {"step": 1})
    with pytest.raises(CheckpointError, match="does not fit"):
        load_checkpoint(tmp_path, {"model": torch.nn.Linear(5, 3)})


@pytest.mark.slow
def test_a_run_killed_and_resumed_ends_with_the_weights_of_an_uninterrupted_run(demographic_pack, tmp_path):
    """SIGKILL mid-run, then --resume: the same steps give bit-identical weights, because every
    random state (torch, numpy, the data order, Python) is saved with the weights and restored."""
    from portraitist.checkpoints import load_weights

    def cmd(out):
        return [PY, "-m", "portraitist.cli", "train", "autoencoder", "--data", str(demographic_pack), "--batch", "4",
                "--steps", "20", "--checkpoint-minutes", "0.00001", "--sample-minutes", "100", "--out", str(out),
                "--export", str(out / "ae.safetensors")]  # fmt: skip

    whole = subprocess.run(cmd(tmp_path / "whole"), capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr[-2000:]
    run = tmp_path / "killed"
    proc = subprocess.Popen(
        cmd(run), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    state_file = run / "ckpt" / "state.json"
    while proc.poll() is None:  # no deadline: a busy machine only makes the run slower to kill
        if state_file.exists():
            try:
                if json.loads(state_file.read_text())["step"] >= 3:
                    break
            except (ValueError, KeyError, OSError):  # caught between the writes: look again
                pass
        time.sleep(0.02)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    ae, ema = Autoencoder(), Autoencoder()
    state = load_checkpoint(run, {"model": ae, "ema": ema})  # whole, whichever moment the kill struck
    assert 0 < state["step"] <= 20
    resumed = subprocess.run(cmd(run) + ["--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resumed {run} at step" in resumed.stdout
    a, _ = load_weights(tmp_path / "whole" / "ae.safetensors")
    b, _ = load_weights(run / "ae.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert killed, "the run finished before it could be killed: the test proved only determinism"


@pytest.mark.slow
def test_sigterm_ends_a_run_with_its_checkpoint_and_export(demographic_pack, tmp_path):
    """A session that ends sends SIGTERM: the run stops after its current step, checkpoints that
    step and exports, instead of losing what it trained since the last periodic checkpoint."""
    from portraitist.checkpoints import load_weights

    run = tmp_path / "run"
    cmd = [PY, "-m", "portraitist.cli", "train", "autoencoder", "--data", str(demographic_pack), "--batch", "4",
           "--minutes", "60", "--checkpoint-minutes", "60", "--sample-minutes", "100", "--out", str(run),
           "--export", str(run / "ae.safetensors")]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = ""
    while not re.search(r"autoencoder: [1-9]\d*img", seen):  # the bar has counted a trained batch
        char = proc.stdout.read(1)
        assert char, f"the run ended before it could be stopped: {seen[-2000:]}"
        seen += char
    proc.send_signal(signal.SIGTERM)
    out = proc.stdout.read()
    assert proc.wait() == 0, out[-2000:]
    assert "stopped by SIGTERM" in out
    state = json.loads((run / "ckpt" / "state.json").read_text())
    assert state["stopped_by"] == "SIGTERM" and state["step"] >= 1  # the steps since the start are kept
    assert load_weights(run / "ae.safetensors")[1]["step"] == state["step"]


@pytest.mark.slow
def test_ddp_with_two_processes_keeps_replicas_identical(demographic_pack, tiny_autoencoder, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [PY, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m",
         "portraitist.training.diffusion", "--autoencoder", str(tiny_autoencoder), "--data", str(demographic_pack),
         "--per-pack", "20", "--batch", "4", "--steps", "2", "--channels", "32", "--out", str(tmp_path / "ddp")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    # both ranks write to one pipe, so their lines can interleave: find the reports anywhere
    reports = re.findall(r"rank (\d) parameters (\w+) after step (\d+)", proc.stdout)
    assert sorted(r[0] for r in reports) == ["0", "1"], proc.stdout
    assert len({r[1] for r in reports}) == 1 and len({r[2] for r in reports}) == 1 and int(reports[0][2]) > 0


@pytest.mark.slow
def test_bad_training_arguments_are_clear_errors(demographic_pack, tmp_path):
    proc = subprocess.run([PY, "-m", "portraitist.cli", "train", "autoencoder", "--data", str(demographic_pack),
                           "--minutes", "-1", "--out", str(tmp_path)], capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 2 and "--minutes must be positive" in proc.stderr


@pytest.mark.slow
def test_diffusion_training_can_start_from_an_exported_model(demographic_pack, tiny_autoencoder, tmp_path):
    common = [PY, "-m", "portraitist.cli", "train", "diffusion", "--autoencoder", str(tiny_autoencoder), "--data",
              str(demographic_pack), "--per-pack", "20", "--batch", "4", "--steps", "2", "--channels", "32"]  # fmt: skip
    first = subprocess.run(common + ["--out", str(tmp_path / "a"), "--export", str(tmp_path / "a.safetensors")],
                           capture_output=True, text=True)  # fmt: skip
    assert first.returncode == 0, first.stderr[-2000:]
    second = subprocess.run(common + ["--out", str(tmp_path / "b"), "--init-from", str(tmp_path / "a.safetensors")],
                            capture_output=True, text=True)  # fmt: skip
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"starting from {tmp_path / 'a.safetensors'}" in second.stdout


@pytest.mark.slow
def test_decoder_only_fine_tune_keeps_the_latent_space(demographic_pack, tiny_autoencoder, tmp_path):
    from portraitist.checkpoints import load_weights
    from portraitist.training import autoencoder as ae_trainer

    out = tmp_path / "ft.safetensors"
    ae_trainer.main(["--data", str(demographic_pack), "--init-from", str(tiny_autoencoder), "--decoder-only",
                     "--latent-noise", "0.4", "--batch", "4", "--steps", "2", "--out", str(tmp_path / "run"),
                     "--export", str(out)])  # fmt: skip
    before, _ = load_weights(tiny_autoencoder)
    after, meta = load_weights(out)
    encoder = [k for k in before if k.startswith("encoder.") or k in ("shift", "scale")]
    assert encoder and all(torch.equal(before[k], after[k]) for k in encoder)  # same latent space
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("decoder."))
    with pytest.raises(SystemExit):
        ae_trainer.parse(["--decoder-only"])


@pytest.mark.slow
def test_adversarial_decoder_fine_tune_trains_a_patch_discriminator_and_resumes(
    demographic_pack, tiny_autoencoder, tmp_path
):
    from portraitist.checkpoints import load_weights
    from portraitist.training import autoencoder as ae_trainer

    common = ["--data", str(demographic_pack), "--init-from", str(tiny_autoencoder), "--decoder-only",
              "--adversarial", "0.5", "--adversarial-start", "2", "--batch", "4", "--out", str(tmp_path / "run")]  # fmt: skip
    ae_trainer.main(
        common + ["--steps", "3", "--checkpoint-minutes", "0.001"]
    )  # steps, not minutes: a busy machine
    weights, _ = load_weights(tmp_path / "run" / "ckpt" / "weights.safetensors")
    assert any(k.startswith("disc.") for k in weights)  # the discriminator is checkpointed with the model
    state = ae_trainer.main(
        common + ["--steps", "5", "--resume", "--export", str(tmp_path / "adv.safetensors")]
    )
    assert state["step"] == 5 and state["psnr_fixed"] > 0
    before, _ = load_weights(tiny_autoencoder)
    after, _ = load_weights(tmp_path / "adv.safetensors")
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("encoder."))
    assert not any(k.startswith("disc.") for k in after)  # users get the autoencoder only
    with pytest.raises(SystemExit):
        ae_trainer.parse(["--adversarial", "-1"])


@pytest.mark.slow
def test_flow_training_with_boost_lr_decay_and_bf16_exports_a_flow_model(
    demographic_pack, tiny_autoencoder, tmp_path
):
    from portraitist.pipelines.face_diffusion import FaceDiffusion

    out = tmp_path / "flow.safetensors"
    proc = subprocess.run([PY, "-m", "portraitist.cli", "train", "diffusion", "--autoencoder", str(tiny_autoencoder),
                           "--data", str(demographic_pack), "--per-pack", "20", "--batch", "4", "--steps", "2",
                           "--channels", "32", "--formulation", "flow", "--boost", "eyeglasses=0.1", "--lr-final",
                           "0.1", "--bf16", "--out", str(tmp_path / "run"), "--export", str(out)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (
        "--boost eyeglasses: 0 of 20 faces, ignored" in proc.stdout
    )  # FairFace-style faces carry no glasses label
    model = FaceDiffusion.from_pretrained(out)
    assert model.denoiser.formulation == "flow" and model.meta["config"]["formulation"] == "flow"
    faces = model.generate_seeds("a face", None, 4, 2.0, [0], "euler")
    assert faces.shape == (1, 64, 64, 3)


def test_bfloat16_autocast_computes_the_same_loss_and_gradients():
    """--bf16: the same EDM loss on the same batch and noise within bfloat16's precision, and
    gradients pointing the same way, so the faster steps train the same model."""
    from portraitist.diffusion.edm import Denoiser, edm_loss
    from portraitist.nets.unet import UNet

    torch.manual_seed(0)
    model = Denoiser(UNet(in_ch=4, ch=16, mults=(1, 2), attn_levels=(1,), text_dim=8, emb_dim=32))
    x0, text = torch.randn(8, 4, 16, 16), torch.randn(8, 8)
    results = []
    for bf16 in (False, True):
        model.zero_grad()
        torch.manual_seed(1)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = edm_loss(model, x0, text)
        loss.backward()
        grad = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
        results.append((loss.item(), grad, loss.dtype))
    (l32, g32, _), (l16, g16, dtype) = results
    assert dtype == torch.float32  # the loss itself is reduced in float32
    assert abs(l16 - l32) / l32 < 0.02
    assert torch.nn.functional.cosine_similarity(g16, g32, dim=0) > 0.99
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_boosted_draws_take_their_share():
    from portraitist.training.diffusion import latent_draw, parse_boost

    flags = np.zeros(1000, bool)
    flags[:10] = True  # 1% of the faces
    data = {"pack": np.zeros(1000, int), "group": np.full(1000, -1), "has_blond": flags}
    draws = latent_draw(data, {"blond": 0.2}, verbose=False).sample(20000, np.random.default_rng(0))[0]
    assert np.isin(draws, np.arange(10)).mean() == pytest.approx(0.2 + 0.8 * 0.01, abs=0.01)
    # two packs, the second with two race groups: each pack half the draws, each group a quarter
    data = {"pack": np.repeat([0, 1], 500), "group": np.r_[np.full(500, -1), np.repeat([0, 1], [450, 50])],
            "has_blond": np.zeros(1000, bool)}  # fmt: skip
    draws = latent_draw(data, {}, verbose=False).sample(20000, np.random.default_rng(1))[0]
    assert (draws < 500).mean() == pytest.approx(0.5, abs=0.02)
    assert (draws >= 950).mean() == pytest.approx(0.25, abs=0.02)
    assert parse_boost("eyeglasses=0.05,blond=0.1") == {"eyeglasses": 0.05, "blond": 0.1}
    assert parse_boost("old=0.06") == {"old": 0.06}
    for bad, message in [("hats=0.1", "unknown attribute"), ("blond", "NAME=SHARE"), ("blond=1.5", "between 0 and 1"),
                         ("blond=0.3,eyeglasses=0.3", "under 0.5")]:  # fmt: skip
        with pytest.raises(ValueError, match=message):
            parse_boost(bad)


def test_old_faces_are_flagged_from_their_age_and_unknown_ages_are_not():
    from portraitist.data.schema import FaceLabels
    from portraitist.training.diffusion import attribute_flags

    labels = [FaceLabels(age_low=60, age_high=69), FaceLabels(age_low=72, age_high=72),
              FaceLabels(age_low=30, age_high=39), FaceLabels(young=False), FaceLabels()]  # fmt: skip
    assert attribute_flags(labels)["has_old"].tolist() == [True, True, False, False, False]


def test_cosine_lr_runs_from_lr_to_its_final_share():
    assert cosine_lr(1e-3, 0.1, 0) == pytest.approx(1e-3)
    assert cosine_lr(1e-3, 0.1, 0.5) == pytest.approx(0.55e-3)
    assert cosine_lr(1e-3, 0.1, 1) == cosine_lr(1e-3, 0.1, 7) == pytest.approx(1e-4)
    assert cosine_lr(1e-3, 1.0, 0.3) == pytest.approx(1e-3)


@pytest.mark.slow
def test_preparing_the_faces_counts_against_the_budget_and_is_cached(
    demographic_pack, tiny_autoencoder, tmp_path
):
    from portraitist.training import diffusion

    common = ["--autoencoder", str(tiny_autoencoder), "--data", str(demographic_pack), "--per-pack", "20",
              "--batch", "4", "--channels", "32"]  # fmt: skip
    spent = diffusion.main(common + ["--minutes", "0.00001", "--out", str(tmp_path / "a")])
    assert spent == {"step": 0, "images": 0, "train_seconds": 0.0, "prepared": False}
    done = diffusion.main(common + ["--steps", "3", "--out", str(tmp_path / "b")])
    assert done["step"] == 3
    again = diffusion.main(common + ["--steps", "2", "--minutes", "0.00001", "--out", str(tmp_path / "c")])
    assert again.get("prepared") is not False  # the encoded faces came from the cache


def test_steps_zero_prepares_the_faces_and_trains_nothing(demographic_pack, tiny_autoencoder, tmp_path):
    from portraitist.training import diffusion

    state = diffusion.main(["--autoencoder", str(tiny_autoencoder), "--data", str(demographic_pack), "--per-pack", "20",
                            "--batch", "4", "--channels", "32", "--steps", "0", "--out", str(tmp_path / "p")])  # fmt: skip
    assert state["step"] == 0 and state.get("prepared") is not False


def test_sparse_captions_train_and_are_cached_per_face(demographic_pack, tiny_autoencoder, tmp_path):
    from portraitist.nets.autoencoder import Autoencoder
    from portraitist.training import diffusion

    args = ["--autoencoder", str(tiny_autoencoder), "--data", str(demographic_pack), "--per-pack", "20",
            "--batch", "4", "--channels", "32", "--out", str(tmp_path / "s")]  # fmt: skip
    state = diffusion.main(args + ["--steps", "3", "--sparse-captions", "0.5"])
    assert state["step"] == 3
    ae, _ = Autoencoder.from_file(tiny_autoencoder)
    data = diffusion.build_latent_pack(ae, tiny_autoencoder, [str(demographic_pack)], 20, 0, None)
    sparse = diffusion.sparse_captions([str(demographic_pack)], data, 0, None)  # from the cache now
    n = len(data["latents"])
    assert sparse["text"].shape == sparse["text_flipped"].shape == (diffusion.SPARSE_VARIANTS, n, 384)
    full = data["text"].astype(np.float32)
    for variant in sparse["text"].astype(np.float32):  # sparser captions of the same faces: mostly other text
        assert (np.abs(variant - full).max(axis=1) > 1e-3).mean() > 0.5
    with pytest.raises(SystemExit):
        diffusion.parse(args + ["--sparse-captions", "1"])


def test_reference_faces_are_other_photos_of_the_same_person():
    from portraitist.training.diffusion import draw_references, reference_pool

    person = np.array([3, -1, 0, 3, 0, 7, 3, -1])  # person 7 has one photo: no reference
    refs = reference_pool(person) | {"embedding": np.arange(8, dtype=np.float16)[:, None].repeat(128, 1)}
    assert refs["count"].tolist() == [2, 0, 1, 2, 1, 0, 2, 0]
    torch.manual_seed(0)
    idx = np.tile(np.arange(8), 500)
    ref, has = draw_references(refs, idx, keep=1.0)
    source = ref[:, 0].long().numpy()
    used = has.numpy()
    assert (used == (refs["count"][idx] > 0)).all()
    assert (person[source[used]] == person[idx[used]]).all() and (source[used] != idx[used]).all()
    assert set(source[idx == 0]) == {3, 6}  # both other photos of person 3 are drawn
    _, half = draw_references(refs, idx, keep=0.5)
    assert 0.4 < half.numpy()[refs["count"][idx] > 0].mean() < 0.6  # identity dropout


def test_the_identity_input_can_learn_at_its_own_rate():
    from portraitist.nets.unet import UNet
    from portraitist.training.diffusion import parameter_groups, parse

    unet = UNet(ch=16, mults=(1, 2), attn_levels=(), id_dim=128)
    assert parameter_groups(unet, 1.0) == [{"params": list(unet.parameters())}]
    rest, mine = parameter_groups(unet, 10.0)
    assert mine["lr_mult"] == 10.0 and len(mine["params"]) == 5  # two Linear layers and the null reference
    assert {id(p) for p in rest["params"] + mine["params"]} == {id(p) for p in unet.parameters()}
    assert all(p is not unet.null_text for p in mine["params"])
    assert (
        parse(["--autoencoder", "ae.safetensors", "--identity", "--identity-lr-mult", "10"]).identity_lr_mult
        == 10
    )
    for bad in (["--identity-lr-mult", "10"], ["--identity", "--identity-lr-mult", "0"]):
        with pytest.raises(SystemExit):
            parse(["--autoencoder", "ae.safetensors", *bad])


@pytest.mark.slow
def test_identity_training_continues_a_model_without_references(demographic_pack, tiny_autoencoder, tmp_path):
    import csv

    from portraitist.pipelines.face_diffusion import FaceDiffusion

    # the tiny pack, two photos per person
    with open(demographic_pack / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    with open(demographic_pack / "labels.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[*rows[0], "identity"])
        writer.writeheader()
        writer.writerows(r | {"identity": str(i // 2)} for i, r in enumerate(rows))
    common = [PY, "-m", "portraitist.cli", "train", "diffusion", "--autoencoder", str(tiny_autoencoder), "--data",
              str(demographic_pack), "--per-pack", "30", "--batch", "4", "--channels", "32"]  # fmt: skip
    first = subprocess.run(common + ["--steps", "2", "--out", str(tmp_path / "a"), "--export", str(tmp_path / "a.st")],
                           capture_output=True, text=True)  # fmt: skip
    assert first.returncode == 0, first.stderr[-2000:]
    second = subprocess.run(common + ["--steps", "5", "--identity", "--identity-lr-mult", "10", "--init-from",
                                      str(tmp_path / "a"), "--out", str(tmp_path / "b"), "--export", str(tmp_path / "b.st")],
                            capture_output=True, text=True)  # fmt: skip
    assert second.returncode == 0, second.stderr[-2000:]
    assert "reference faces: " in second.stdout and "starting from" in second.stdout
    model = FaceDiffusion.from_pretrained(tmp_path / "b.st")
    assert model.takes_reference and model.meta["train"]["step"] == 5
    groups = json.loads((tmp_path / "b" / "ckpt" / "state.json").read_text())["optimizer"]["param_groups"]
    assert [g.get("lr_mult", 1.0) for g in groups] == [1.0, 10.0]
    assert groups[1]["lr"] == pytest.approx(10 * groups[0]["lr"])  # the identity input at 10x the rate
