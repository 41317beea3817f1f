"""Where a GAN training step spends its time on this CPU, per network width: generator forward,
discriminator forward and backward, the generator step, and R1 (amortised over its interval).

    python bench/profile_gan.py --bases 16 16 24 24 32 --caps 64 256 96 192 128

Prints faces/s for a full step (D step + G step) per width and the parameter counts; run it on an
idle machine (a second CPU job halves every figure).
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.nn import functional as F

from portraitist.nets.stylegan import Discriminator, Generator
from portraitist.training.augment import augment
from portraitist.training.gan import R1_EVERY


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def profile(base: int, cap: int | None, batch: int, repeats: int, p: float) -> dict:
    G, D = Generator(64, base=base, cap=cap), Discriminator(64, base=base, cap=cap)
    z = torch.randn(batch, G.z_dim)
    real = torch.rand(batch, 3, 64, 64) * 2 - 1

    def g_forward():
        with torch.no_grad():
            G(z)

    def d_step():
        with torch.no_grad():
            fake = G(z)
        loss = F.softplus(D(augment(fake, p))).mean() + F.softplus(-D(augment(real, p))).mean()
        loss.backward()

    def g_step():
        F.softplus(-D(augment(G(z), p))).mean().backward()

    def r1():
        x = real.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(D(augment(x, p)).sum(), x, create_graph=True)
        g.pow(2).sum().backward()

    t = {"g_forward": timed(g_forward, repeats), "d_step": timed(d_step, repeats),
         "g_step": timed(g_step, repeats), "r1": timed(r1, max(1, repeats // 2)) / R1_EVERY}  # fmt: skip
    total = t["d_step"] + t["g_step"] + t["r1"]
    return {
        "base": base,
        "cap": cap or 4 * base,
        "G_params": sum(q.numel() for q in G.parameters()),
        "D_params": sum(q.numel() for q in D.parameters()),
        **{k: round(v, 4) for k, v in t.items()},
        "faces_per_s": round(batch / total, 1),
        "sample_64_s": round(timed(lambda: g_forward_n(G, 64), 3), 3),
    }


def g_forward_n(G, n: int) -> None:
    with torch.no_grad():
        G(torch.randn(n, G.z_dim), truncation=0.7)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bases", type=int, nargs="+", default=[16, 24, 32])
    ap.add_argument("--caps", type=int, nargs="+", help="widest layer, per base (default 4x base)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--p", type=float, default=0.2, help="augmentation probability")
    args = ap.parse_args()
    torch.manual_seed(0)
    for base, cap in zip(args.bases, args.caps or [None] * len(args.bases), strict=True):
        print(profile(base, cap, args.batch, args.repeats, args.p), flush=True)


if __name__ == "__main__":
    main()
