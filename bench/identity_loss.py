"""Has a denoiser's identity input learnt anything? Its denoising error on training faces given
another photo of the same person, against a photo of someone else and against no reference, per
noise level (issue 16). A reference that carries the person lowers the error where the noise hides
who it is; one the model ignores leaves it unchanged, and one it misreads raises it. The last
column is the yardstick: how much the face's caption lowers the error against no prompt at all.

    python bench/identity_loss.py --weights campaign/face_diffusion_v5_wip.safetensors \
        --autoencoder /root/portraitist-campaign/ship4/ae16x16x4.safetensors --n 512

`--autoencoder` and `--per-pack` name the latent cache the weights were trained from (the
training command's own), so the faces are exactly the training draws, already encoded.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from portraitist.pipelines.face_diffusion import FaceDiffusion
from portraitist.training.diffusion import build_latent_pack, draw_references, identity_references

SIGMAS = (0.2, 0.5, 1.0, 2.0, 5.0)


def errors(denoiser, net, x0, text, identity, sigma: float, noise) -> np.ndarray:
    """Per-face mean squared error of the denoised latents at one noise level."""
    cond = net.condition(text, identity)
    out = denoiser(x0 + noise * sigma, torch.full((len(x0),), sigma), cond)
    return ((out - x0) ** 2).mean(dim=(1, 2, 3)).numpy()


@torch.inference_mode()
def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", type=Path, required=True)
    ap.add_argument("--autoencoder", type=Path, required=True)
    ap.add_argument("--data", default="celeba64,fairface64,utkface64")
    ap.add_argument("--per-pack", type=int, default=20000)
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    pipe = FaceDiffusion.from_pretrained(args.weights)
    if not pipe.takes_reference:
        raise SystemExit(f"{args.weights} has no identity input")
    denoiser, net = pipe.denoiser.eval(), pipe.denoiser.net
    packs = args.data.split(",")
    data = build_latent_pack(pipe.autoencoder, args.autoencoder, packs, args.per_pack, 0, None)
    refs = identity_references(packs, data, None)
    rng = np.random.default_rng(args.seed)
    rows = np.sort(rng.choice(np.flatnonzero(refs["count"] > 0), args.n, replace=False))
    torch.manual_seed(args.seed)
    same, _ = draw_references(refs, rows, keep=1.0)
    other = same[torch.randperm(len(rows))]  # someone else's photo (the same pool, shuffled)
    x0 = torch.from_numpy(data["latents"][rows].astype(np.float32))
    text = torch.from_numpy(data["text"][rows].astype(np.float32))
    cosine_same = float((same * torch.from_numpy(refs["embedding"][rows].astype(np.float32))).sum(1).mean())
    print(f"{len(rows)} training faces with another photo of their person; "
          f"mean SFace cosine to that photo {cosine_same:.3f}\n")  # fmt: skip
    no_prompt = net.null_text.expand(len(rows), -1)
    print(
        "| sigma | no reference | same person | someone else | same vs none | same vs else | caption vs no prompt |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for sigma in SIGMAS:
        noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(int(sigma * 100)))
        e = {k: errors(denoiser, net, x0, text, ref, sigma, noise) for k, ref in
             {"none": None, "same": same, "else": other}.items()}  # fmt: skip
        e["no prompt"] = errors(denoiser, net, x0, no_prompt, None, sigma, noise)
        print(f"| {sigma:g} | {e['none'].mean():.4f} | {e['same'].mean():.4f} | {e['else'].mean():.4f} | "
              f"{(e['same'] / e['none']).mean() - 1:+.2%} | {(e['same'] / e['else']).mean() - 1:+.2%} | "
              f"{(e['none'] / e['no prompt']).mean() - 1:+.2%} |")  # fmt: skip


if __name__ == "__main__":
    main()
