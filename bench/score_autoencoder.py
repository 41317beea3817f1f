"""Score the autoencoder: PSNR of reconstructions of held-out CelebA faces (valid split), and the
instruments' scores (FD / precision / recall / QA, as generated faces get) of the reconstructions
of the reference rows' real-photo sample (CelebA train faces, not in the CelebA valid reference),
side by side with those originals.

    python bench/score_autoencoder.py --weights runs/ae2/ae.safetensors [--n 5000]

A reconstruction's scores bound what the latent diffusion model can reach: the denoiser's faces
pass through the same decoder. Prints Markdown.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from portraitist.data import load, to_tensor
from portraitist.evaluation.evaluate import EvalConfig, ImageSet, evaluate, metric
from portraitist.nets.autoencoder import Autoencoder
from portraitist.pipelines.face_diffusion import FaceDiffusion
from portraitist.training.autoencoder import to_uint8


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", help="autoencoder safetensors (default: the shipped model's)")
    ap.add_argument("--n", type=int, default=5000)
    args = ap.parse_args()
    if args.weights:
        ae, _ = Autoencoder.from_file(args.weights)
    else:
        ae = FaceDiffusion.from_pretrained().autoencoder
    ae.eval()

    def reconstruct(faces: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return np.concatenate(
                [
                    to_uint8(ae.decode(ae.encode(to_tensor(faces[i : i + 250]))))
                    for i in range(0, len(faces), 250)
                ]
            )

    valid = load("celeba64", progress=False).filter(split="valid")
    held = np.asarray(valid.images[valid.index])
    mse = ((reconstruct(held).astype(np.float64) - held) ** 2).mean(axis=(1, 2, 3)) / 255**2
    psnr = 10 * np.log10(1 / np.maximum(mse, 1e-12))
    print(
        f"PSNR on all {len(held)} held-out CelebA valid faces: mean {psnr.mean():.2f} dB, median {np.median(psnr):.2f} dB"
    )
    train = load("celeba64", progress=False).filter(split="train")
    rows = np.sort(
        np.random.default_rng(1).choice(train.index, args.n, replace=False)
    )  # the reference rows' sample
    faces = np.asarray(train.images[rows])
    recon = reconstruct(faces)
    print("| faces | face rate | eyes consistent | sharp | fd_effnet | precision | recall |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, images in (("real photos (CelebA train sample)", faces), ("their reconstructions", recon)):
        res, _ = evaluate(ImageSet(name, images), EvalConfig(balanced_ref=None))
        s, q = res["set"], res["qa"]
        fd, p, r = (metric(s, name) for name in ("fd_effnet", "precision", "recall"))
        row = [q["face_rate"], q["eyes_consistent_rate"], q["sharp_rate"]]
        print(
            f"| {name} | " + " | ".join(f"{x:.3f}" for x in row) + f" | {fd:.2f} | {p:.3f} | {r:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
