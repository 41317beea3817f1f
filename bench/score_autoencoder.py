"""Score the autoencoder: reconstructions of held-out CelebA faces, by PSNR and by the instruments
(the same FD / precision / recall / QA as generated faces get), against CelebA valid.

    python bench/score_autoencoder.py --weights runs/ae2/ae.safetensors [--n 2000]

A reconstruction's scores bound what the latent diffusion model can reach: the denoiser's faces
pass through the same decoder. The reference faces and the reconstructed ones are disjoint halves
of CelebA valid, so the real-vs-real row is comparable. Prints Markdown.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from portraitist.checkpoints import load_into
from portraitist.data import load, to_tensor
from portraitist.evaluation.evaluate import EvalConfig, ImageSet, evaluate
from portraitist.generate import FaceDiffusion
from portraitist.nets.autoencoder import Autoencoder
from portraitist.training.autoencoder import to_uint8


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", help="autoencoder safetensors (default: the shipped model's)")
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    if args.weights:
        ae = Autoencoder()
        load_into(ae, args.weights)
    else:
        ae = FaceDiffusion.load().autoencoder
    ae.eval()
    valid = load("celeba64", progress=False).filter(split="valid")
    rows = np.sort(np.random.default_rng(0).choice(valid.index, args.n, replace=False))
    faces = np.asarray(valid.images[rows])
    with torch.inference_mode():
        recon = np.concatenate(
            [to_uint8(ae.decode(ae.encode(to_tensor(faces[i : i + 250])))) for i in range(0, args.n, 250)]
        )
    mse = ((recon.astype(np.float64) - faces) ** 2).mean(axis=(1, 2, 3)) / 255**2
    psnr = 10 * np.log10(1 / np.maximum(mse, 1e-12))
    print(
        f"PSNR on {args.n} held-out CelebA faces: mean {psnr.mean():.2f} dB, median {np.median(psnr):.2f} dB"
    )
    print(
        "| faces | face rate | eyes consistent | sharp | fd_effnet | precision | recall |\n|---|---:|---:|---:|---:|---:|---:|"
    )
    for name, images in (("held-out originals", faces), ("their reconstructions", recon)):
        res, _ = evaluate(ImageSet(name, images, None, None), EvalConfig(balanced_ref=None))
        s, q = res["set"], res["qa"]
        fd = next(v for k, v in s.items() if k.startswith("fd_effnet"))
        p = next(v for k, v in s.items() if k.startswith("precision"))
        r = next(v for k, v in s.items() if k.startswith("recall"))
        print(f"| {name} | {q['face_rate']:.3f} | {q['eyes_consistent_rate']:.3f} | {q.get('sharp_rate', float('nan')):.3f} | "
              f"{fd:.2f} | {p:.3f} | {r:.3f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
