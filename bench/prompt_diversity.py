"""How different are the faces of one prompt? Per model, K seeds for each of the ten adherence
prompts and the vague prompt, through the engines at their defaults without re-roll: the mean
pairwise identity distance (SFace; identity diversity, 0 = one person) and pixel RMS distance
(64 px, 0..1) among each prompt's faces, against the same for K random real CelebA valid faces.

A conditional generator's usual failure is to map every latent of one prompt onto a few faces:
recall collapses while each face looks fine. This bench sees that directly, prompt by prompt.

    python bench/prompt_diversity.py --model face-gan --model face-gan=PATH/face_gan_text.safetensors --k 64
"""

from __future__ import annotations

import argparse

import numpy as np
from text_to_face import VAGUE, faces

from portraitist import api
from portraitist.data import load
from portraitist.evaluation.adherence import ADHERENCE_PROMPTS
from portraitist.evaluation.metrics import identity_diversity, mean_pairwise_distance
from portraitist.quality.identity import sface_features


def spread(images: np.ndarray) -> tuple[float, float]:
    """(identity diversity of the faces SFace finds, mean pairwise pixel RMS distance)."""
    embeddings, found = sface_features(images)
    px = images.reshape(len(images), -1).astype(np.float32) / 255
    rms = mean_pairwise_distance(px) / np.sqrt(px.shape[1])  # Euclidean distance over sqrt(pixels)
    return identity_diversity(embeddings[found]) if found.sum() >= 2 else float("nan"), float(rms)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True, help="NAME or NAME=WEIGHTS (repeat)")
    ap.add_argument("--k", type=int, default=64, help="faces per prompt")
    args = ap.parse_args()
    if args.k < 2:
        ap.error("--k needs at least 2 faces per prompt to compare")
    prompts = {"vague": VAGUE, **ADHERENCE_PROMPTS}
    celeba = load("celeba64", progress=False).filter(split="valid")
    real = np.asarray(
        celeba.images[np.random.default_rng(0).choice(len(celeba.images), args.k, replace=False)]
    )
    real_id, real_px = spread(real)
    print(
        f"{args.k} faces per prompt; real CelebA valid faces: identity diversity {real_id:.3f}, pixel RMS {real_px:.3f}\n"
    )
    print("| model | vague: identity diversity | pixel RMS | 10 prompts: identity diversity (mean) | pixel RMS (mean) | lowest identity diversity |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---|")
    for spec in args.model:
        name, _, weights = spec.partition("=")
        engine = api.engine(name, weights or None)
        rows = {key: spread(faces(engine, [p] * args.k, list(range(args.k)))) for key, p in prompts.items()}
        named = {k: v for k, v in rows.items() if k != "vague"}
        low = min(named, key=lambda k: named[k][0])
        print(f"| {spec.split('/')[-1]} | {rows['vague'][0]:.3f} | {rows['vague'][1]:.3f} "
              f"| {np.nanmean([v[0] for v in named.values()]):.3f} | {np.mean([v[1] for v in named.values()]):.3f} "
              f"| {low} ({named[low][0]:.3f}) |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
