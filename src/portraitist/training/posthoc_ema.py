"""EMA length chosen after training (post-hoc EMA, Karras et al. 2024, "Analyzing and Improving the
Training Dynamics of Diffusion Models", section 3), reimplemented from the paper's equations.

During training two power-function EMAs are kept. A power EMA with exponent gamma averages the
weights seen up to step t with density proportional to tau**gamma: the average has a fixed
*relative* width sigma_rel (its standard deviation over t), whatever t is. Both are saved as
snapshots every few minutes. Afterwards, the EMA of any width at any saved step is approximated by
a linear combination of the snapshots: the combination whose averaging profile is closest (least
squares over training time) to the wanted profile. So one training run yields every EMA length,
and the best is picked by measuring, not guessed before training.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..checkpoints import CheckpointError, load_weights, save_weights
from ..errors import InvalidInput

SNAPSHOT_SIGMAS = (0.05, 0.10)  # the paper's pair: they span the widths worth reconstructing


def sigma_rel(gamma: float) -> float:
    """Relative standard deviation of the power-function average with exponent gamma."""
    return float(np.sqrt((gamma + 1) / ((gamma + 2) ** 2 * (gamma + 3))))


def gamma_for(sigma: float) -> float:
    """The exponent whose average has relative width `sigma` (sigma_rel falls as gamma grows)."""
    if not 0 < sigma < sigma_rel(0.0):
        raise InvalidInput(f"sigma_rel must be between 0 and {sigma_rel(0.0):.3f}, got {sigma}")
    lo, hi = 0.0, 1e6
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if sigma_rel(mid) > sigma else (lo, mid)
    return (lo + hi) / 2


class PowerEMA:
    """The running power-function average: at step t (1-based) the new weights count 1 - beta with
    beta = (1 - 1/t) ** (gamma + 1), so step tau ends up weighted by tau**(gamma+1) - (tau-1)**(gamma+1),
    the discrete form of the density tau**gamma."""

    def __init__(self, module: nn.Module, sigma: float) -> None:
        self.sigma, self.gamma = sigma, gamma_for(sigma)
        self.module = copy.deepcopy(module).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, module: nn.Module, step: int) -> None:
        t = step + 1
        beta = (1 - 1 / t) ** (self.gamma + 1)
        for e, p in zip(self.module.parameters(), module.parameters(), strict=True):
            e.lerp_(p.detach(), 1 - beta)
        for e, b in zip(self.module.buffers(), module.buffers(), strict=True):
            e.copy_(b)


def _profile_dot(t_a: float, g_a: float, t_b: float, g_b: float) -> float:
    """Integral over training time of the product of two averaging profiles, each
    p(tau) = (g + 1) tau**g / t**(g + 1) on [0, t]: normalised densities."""
    m = min(t_a, t_b)
    return (
        (g_a + 1) * (g_b + 1) * m ** (g_a + g_b + 1) / ((g_a + g_b + 1) * t_a ** (g_a + 1) * t_b ** (g_b + 1))
    )


def combination(snapshots: list[tuple[int, float]], step: int, sigma: float) -> np.ndarray:
    """Weights over snapshots (step, gamma) whose combined profile best matches the power EMA of
    width `sigma` at `step` (least squares; the Gram system is solved by lstsq, it is ill-conditioned)."""
    if not snapshots:
        raise InvalidInput("no EMA snapshots to combine")
    gamma = gamma_for(sigma)
    # steps are scaled to order 1 so that the powers stay in floating-point range
    scale = float(max(t for t, _ in snapshots))
    ts = [(t / scale, g) for t, g in snapshots]
    gram = np.array([[_profile_dot(ta, ga, tb, gb) for tb, gb in ts] for ta, ga in ts])
    target = np.array([_profile_dot(ta, ga, step / scale, gamma) for ta, ga in ts])
    return np.linalg.lstsq(gram, target, rcond=1e-12)[0]


SNAPSHOT_NAME = re.compile(r"^ema-(\d{8})\.safetensors$")


def save_snapshot(folder: Path, step: int, emas: list[PowerEMA]) -> Path:
    """Every power EMA's weights at `step`, in one file (float32: the combination cancels large
    coefficients of opposite sign, which half precision would not survive)."""
    state = {f"{e.sigma:.4f}.{k}": v for e in emas for k, v in e.module.state_dict().items()}
    return save_weights(
        state, folder / f"ema-{step:08d}.safetensors", {"step": step, "sigmas": [e.sigma for e in emas]}
    )


def snapshots_in(folder: Path) -> list[tuple[int, Path]]:
    found = sorted((int(m.group(1)), folder / m.group(0)) for p in folder.glob("ema-*.safetensors")
                   if (m := SNAPSHOT_NAME.match(p.name)))  # fmt: skip
    if not found:
        raise CheckpointError(f"no EMA snapshots (ema-*.safetensors) in {folder}: train with --posthoc-ema")
    return found


def reconstruct(folder: Path, sigma: float, step: int | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """The weights of the power EMA of width `sigma` at `step` (default: the last snapshot's), from
    the snapshots up to that step. Returns the state dict and what it was made of."""
    from safetensors import safe_open

    files = [(s, p) for s, p in snapshots_in(folder) if step is None or s <= step]
    if not files:
        raise InvalidInput(f"no snapshot at or before step {step} in {folder}")
    step = step or files[-1][0]
    parts = []  # (file, step, sigma), read from the headers first: the weights are summed one file at a time
    for s, path in files:
        with safe_open(str(path), "pt") as f:
            parts += [(path, s, sig) for sig in json.loads(f.metadata()["json"])["sigmas"]]
    weights = combination([(s, gamma_for(sig)) for _, s, sig in parts], step, sigma)
    out: dict[str, torch.Tensor] = {}
    loaded: tuple[Path | None, dict] = (None, {})
    for w, (path, _, sig) in zip(weights, parts, strict=True):  # a file's parts are consecutive
        if loaded[0] != path:
            loaded = (path, load_weights(path)[0])
        prefix = f"{sig:.4f}."
        for k, v in loaded[1].items():
            if k.startswith(prefix):
                name = k[len(prefix) :]
                # floats are combined; counters and the like: the latest
                out[name] = out.get(name, 0) + w * v.double() if v.is_floating_point() else v
    out = {k: v.float() if v.is_floating_point() else v for k, v in out.items()}
    info = {
        "sigma_rel": sigma,
        "step": step,
        "snapshots": len(files),
        "weights": [round(float(w), 4) for w in weights],
    }
    return out, info


def load_rebuilt(
    pipe, snapshots: Path, sigma: float, step: int | None = None, model: object = "this model"
) -> dict:
    """Put the EMA of width `sigma` rebuilt from `snapshots` into a FaceDiffusion pipeline's
    denoiser; returns what it was made of (reconstruct's info)."""
    weights, info = reconstruct(snapshots, sigma, step)
    own = {k[len("net.") :]: v for k, v in weights.items() if k.startswith("net.")}
    try:
        pipe.denoiser.net.load_state_dict(own)
    except RuntimeError as e:
        raise CheckpointError(f"the snapshots in {snapshots} do not fit {model}: {e}") from e
    return info


def save_rebuilt(pipe, model: Path, out: Path, info: dict) -> None:
    """Write the pipeline with the training record of the exported `model` and the rebuild's info."""
    _, meta = load_weights(model)
    record = {k: v for k, v in meta.items() if k not in ("kind", "config")}
    pipe.save_pretrained(out, **(record | {"posthoc_ema": info}))


def main(argv=None) -> None:
    """Write a model file whose denoiser is the EMA of the chosen width, rebuilt from a run's snapshots."""
    import argparse

    from ..pipelines.face_diffusion import FaceDiffusion

    ap = argparse.ArgumentParser(
        prog="python -m portraitist.training.posthoc_ema",
        description="Rebuild a diffusion run's EMA of any width (sigma_rel) from its snapshots.",
    )
    ap.add_argument(
        "snapshots", type=Path, help="the run's ema-snapshots folder (train diffusion --posthoc-ema)"
    )
    ap.add_argument(
        "--model", type=Path, required=True, help="an exported model of that run (its configuration)"
    )
    ap.add_argument("--sigma", type=float, required=True, help="relative EMA width, e.g. 0.05-0.15")
    ap.add_argument("--step", type=int, help="rebuild as of this step (default: the last snapshot)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    pipe = FaceDiffusion.from_pretrained(args.model)
    info = load_rebuilt(pipe, args.snapshots, args.sigma, args.step, args.model)
    save_rebuilt(pipe, args.model, args.out, info)
    print(
        f"wrote {args.out}: sigma_rel {args.sigma} at step {info['step']} from {info['snapshots']} snapshots"
    )


if __name__ == "__main__":
    main()
