"""Choose the default guidance and step count by measurement: for each setting, 1,000 faces
prompted with captions of held-out CelebA faces (FD in EfficientNet-Lite0 features against CelebA
valid, eye consistency) and 10 x 30 faces for attribute adherence.

    python bench/tune_sampling.py [--weights PATH] [--n 1000]

FD on 1,000 faces is biased upwards against the 5,000-face figure; it ranks settings, it is not the
headline. Prints Markdown (recorded in docs/models/face_diffusion.md).
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np
from score_diffusion import ADHERENCE_PROMPTS

from portraitist.captions import caption
from portraitist.data import load
from portraitist.evaluation.adherence import adherence
from portraitist.evaluation.evaluate import EvalConfig, ImageSet, evaluate
from portraitist.evaluation.predictors import predict
from portraitist.generate import FaceDiffusion

SETTINGS = [(8, 1.5), (8, 2.0), (8, 3.0), (8, 4.0), (12, 2.0)]


def faces(model, prompts, seeds, steps, guidance, batch=100):
    return np.concatenate([model.generate_seeds(prompts[i : i + batch], None, steps, guidance, seeds[i : i + batch], "dpmpp_2m")
                           for i in range(0, len(prompts), batch)])  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument(
        "--settings", default=",".join(f"{s}:{g:g}" for s, g in SETTINGS), help="steps:guidance,..."
    )
    ap.add_argument("--adherence-per-prompt", type=int, default=30)
    args = ap.parse_args()
    model = FaceDiffusion.load(args.weights)
    valid = load("celeba64", progress=False).filter(split="valid")
    rng = random.Random(1)
    prompts = [caption(valid.labels[rng.choice(valid.index)], rng) for _ in range(args.n)]
    adh_prompts = [p for p in ADHERENCE_PROMPTS.values() for _ in range(args.adherence_per_prompt)]
    settings = [(int(a), float(b)) for a, b in (x.split(":") for x in args.settings.split(","))]
    print(
        "| steps | guidance | fd_effnet_1k | precision | recall | eyes consistent | face rate | adherence | s/face |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for steps, guidance in settings:
        t = time.perf_counter()
        images = faces(model, prompts, list(range(args.n)), steps, guidance)
        per_face = (time.perf_counter() - t) / args.n
        res, _ = evaluate(
            ImageSet(f"g{guidance}-s{steps}", images, prompts, [""] * args.n), EvalConfig(balanced_ref=None)
        )
        adh = adherence(adh_prompts, [""] * len(adh_prompts),
                        predict(faces(model, adh_prompts, list(range(50_000, 50_000 + len(adh_prompts))), steps, guidance)))  # fmt: skip
        s, q = res["set"], res["qa"]
        fd = next(v for k, v in s.items() if k.startswith("fd_effnet"))
        prec = next(v for k, v in s.items() if k.startswith("precision"))
        rec = next(v for k, v in s.items() if k.startswith("recall"))
        print(f"| {steps} | {guidance:g} | {fd:.1f} | {prec:.3f} | {rec:.3f} | {q['eyes_consistent_rate']:.3f} | "
              f"{q['face_rate']:.3f} | {adh['overall']:.3f} | {per_face:.3f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
