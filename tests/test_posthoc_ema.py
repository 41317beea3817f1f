"""Post-hoc EMA: power-function averages, and any average width rebuilt from two widths' snapshots."""

import numpy as np
import pytest
import torch
from torch import nn

from portraitist.errors import InvalidInput
from portraitist.training.posthoc_ema import (
    SNAPSHOT_SIGMAS,
    PowerEMA,
    combination,
    gamma_for,
    reconstruct,
    save_snapshot,
    sigma_rel,
)


def test_gamma_and_sigma_rel_are_inverse_and_match_the_paper():
    # EDM2 (Karras et al. 2024) quotes gamma = 16.97 for sigma_rel 0.05 and 6.94 for 0.10
    assert gamma_for(0.05) == pytest.approx(16.97, abs=0.01)
    assert gamma_for(0.10) == pytest.approx(6.94, abs=0.01)
    for s in (0.01, 0.03, 0.2):
        assert sigma_rel(gamma_for(s)) == pytest.approx(s, rel=1e-6)
    with pytest.raises(InvalidInput, match="sigma_rel"):
        gamma_for(0.5)


def test_a_power_ema_is_the_power_weighted_mean_of_the_trajectory():
    net = nn.Linear(1, 1, bias=False)
    ema = PowerEMA(net, 0.1)
    values = np.sin(np.arange(1, 301) / 30.0)
    for t, v in enumerate(values):
        net.weight.data.fill_(float(v))
        ema.update(net, t)
    taus = np.arange(1, 301, dtype=np.float64)
    dens = taus ** (ema.gamma + 1) - (taus - 1) ** (ema.gamma + 1)  # the discrete form of tau**gamma
    assert ema.module.weight.item() == pytest.approx(float((dens * values).sum() / dens.sum()), abs=1e-4)


def test_a_combination_reproduces_its_own_snapshot():
    snaps = [(t, gamma_for(s)) for t in (100, 200, 300) for s in SNAPSHOT_SIGMAS]
    w = combination(snaps, 300, 0.10)
    assert w[-1] == pytest.approx(1.0, abs=1e-3) and np.abs(w[:-1]).max() < 1e-3


def test_a_width_between_the_two_tracked_is_rebuilt_from_snapshots(tmp_path):
    """Train a toy 'network' along a known noisy trajectory, tracking sigma_rel 0.05 and 0.10 with
    snapshots; rebuild 0.075 and compare with a power EMA of 0.075 tracked directly."""
    torch.manual_seed(0)
    net = nn.Linear(8, 8)
    tracked = [PowerEMA(net, s) for s in SNAPSHOT_SIGMAS]
    truth = PowerEMA(net, 0.075)
    drift = torch.randn(8, 8)
    for t in range(4000):
        with torch.no_grad():
            net.weight.copy_(drift * np.sqrt(t / 4000) + 0.3 * torch.randn(8, 8))
            net.bias.fill_(np.cos(t / 700))
        for e in (*tracked, truth):
            e.update(net, t)
        if (t + 1) % 250 == 0:
            save_snapshot(tmp_path, t + 1, tracked)
    weights, info = reconstruct(tmp_path, 0.075)
    assert info["step"] == 4000 and info["snapshots"] == 16
    err = (weights["weight"] - truth.module.weight).abs().max().item()
    spread = (tracked[0].module.weight - tracked[1].module.weight).abs().max().item()
    assert err < 0.1 * spread, (err, spread)
    assert weights["bias"] == pytest.approx(truth.module.bias.detach(), abs=0.02)
    earlier, info = reconstruct(tmp_path, 0.05, step=2000)
    assert info["snapshots"] == 8


def test_no_snapshots_is_a_clear_error(tmp_path):
    from portraitist.checkpoints import CheckpointError

    with pytest.raises(CheckpointError, match="no EMA snapshots"):
        reconstruct(tmp_path, 0.1)


@pytest.mark.slow
def test_a_diffusion_run_snapshots_power_emas_and_a_model_is_rebuilt_from_them(
    demographic_pack, tiny_autoencoder, tmp_path
):
    from portraitist.pipelines.face_diffusion import FaceDiffusion
    from portraitist.training import diffusion, posthoc_ema

    common = ["--autoencoder", str(tiny_autoencoder), "--data", str(demographic_pack), "--per-pack", "20",
              "--batch", "4", "--channels", "32", "--out", str(tmp_path / "run")]  # fmt: skip
    # a campaign that started without power EMAs adds them on resume
    diffusion.main(common + ["--steps", "2"])
    diffusion.main(
        common + ["--steps", "4", "--resume", "--posthoc-ema", "--export", str(tmp_path / "m.safetensors")]
    )
    diffusion.main(common + ["--steps", "6", "--resume", "--posthoc-ema"])
    snaps = sorted(p.name for p in (tmp_path / "run" / "ema-snapshots").iterdir())
    assert snaps == ["ema-00000004.safetensors", "ema-00000006.safetensors"]
    posthoc_ema.main([str(tmp_path / "run" / "ema-snapshots"), "--model", str(tmp_path / "m.safetensors"),
                      "--sigma", "0.08", "--out", str(tmp_path / "rebuilt.safetensors")])  # fmt: skip
    pipe = FaceDiffusion.from_pretrained(tmp_path / "rebuilt.safetensors")
    faces = pipe("a face", "", 2, 2.0, [0], "euler")
    assert faces.shape == (1, 64, 64, 3)
