"""Where the denoiser's training time goes on this CPU: one training step (EDM loss, backward,
AdamW) of the campaign's UNet, timed in four ways side by side: float32; channels-last memory
layout; bfloat16 autocast (this CPU has AVX512-BF16); both. Rounds interleave the variants so a
busy machine slows them alike; the table gives the median step and the ratio to float32.

    python bench/profile_denoiser.py [--model FILE] [--batch 64] [--rounds 5] [--steps 3]

`--model` takes the UNet's configuration from an exported model (default: the campaign's
work-in-progress file). Also printed: each variant's loss on the same batch and noise, against
float32's, so a faster variant that computes something else is seen.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from pathlib import Path

import torch

from portraitist.checkpoints import load_weights
from portraitist.diffusion.edm import Denoiser, edm_loss
from portraitist.nets.unet import UNet

VARIANTS = {
    "float32": (False, False),
    "channels-last": (True, False),
    "bfloat16 autocast": (False, True),
    "bfloat16 + channels-last": (True, True),
}


def make(config: dict, channels_last: bool) -> tuple[Denoiser, torch.optim.Optimizer]:
    torch.manual_seed(0)
    net = UNet(**config)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    return Denoiser(net), torch.optim.AdamW(net.parameters(), lr=1e-4)


def train_step(model, opt, x0, cond, channels_last: bool, bf16: bool) -> float:
    if channels_last:
        x0 = x0.contiguous(memory_format=torch.channels_last)
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    with ctx:
        loss = edm_loss(model, x0, cond)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=Path("campaign/face_diffusion_v4_wip.safetensors"))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3, help="timed steps per variant per round")
    args = ap.parse_args()
    config = load_weights(args.model)[1]["config"]["unet"]
    side = 16  # the 16x16 latent
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(args.batch, config["in_ch"], side, side, generator=g)
    text = torch.randn(args.batch, config["text_dim"], generator=g)
    built = {name: make(config, cl) for name, (cl, _) in VARIANTS.items()}
    cond = built["float32"][0].net.condition(text)  # with an identity input: its "no reference"
    losses = {}
    for name, (cl, bf16) in VARIANTS.items():  # same batch, same noise: the loss each computes
        torch.manual_seed(1)
        losses[name] = train_step(*built[name], x0, cond, cl, bf16)
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(args.rounds):
        for name, (cl, bf16) in VARIANTS.items():
            t = time.perf_counter()
            for _ in range(args.steps):
                train_step(*built[name], x0, cond, cl, bf16)
            times[name].append((time.perf_counter() - t) / args.steps)
    base = statistics.median(times["float32"])
    print(
        f"UNet {config}, batch {args.batch}, {torch.get_num_threads()} threads, torch {torch.__version__}\n"
    )
    print("| variant | median step (s) | faces/s | speed vs float32 | first-step loss (float32's) |")
    print("|---|---:|---:|---:|---:|")
    for name in VARIANTS:
        m = statistics.median(times[name])
        print(
            f"| {name} | {m:.3f} | {args.batch / m:.0f} | {base / m:.2f}x | {losses[name]:.4f} ({losses['float32']:.4f}) |"
        )


if __name__ == "__main__":
    main()
