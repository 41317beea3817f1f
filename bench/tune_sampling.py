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
from portraitist.evaluation.evaluate import EvalConfig, ImageSet, evaluate, metric
from portraitist.evaluation.predictors import predict
from portraitist.pipelines.face_diffusion import FaceDiffusion

SETTINGS = [(8, 1.5), (8, 2.0), (8, 3.0), (8, 4.0), (12, 2.0)]


def faces(model, prompts, seeds, steps, guidance, batch=100):
    return np.concatenate([model.generate_seeds(prompts[i : i + batch], None, steps, guidance, seeds[i : i + batch], "dpmpp_2m")
                           for i in range(0, len(prompts), batch)])  # fmt: skip


HEADER = (
    "| steps | guidance | fd_effnet_1k | precision | recall | eyes consistent | face rate | adherence | s/face |\n"
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def evaluation_prompts(n: int, adherence_per_prompt: int) -> tuple[list[str], list[str]]:
    """Captions of n held-out CelebA faces (realism), and the adherence prompts repeated."""
    valid = load("celeba64", progress=False).filter(split="valid")
    rng = random.Random(1)
    prompts = [caption(valid.labels[rng.choice(valid.index)], rng) for _ in range(n)]
    return prompts, [p for p in ADHERENCE_PROMPTS.values() for _ in range(adherence_per_prompt)]


def score_setting(model, prompts, adh_prompts, steps: int, guidance: float) -> dict:
    """Realism and QA of faces for `prompts`, adherence for `adh_prompts`, seconds a face."""
    n = len(prompts)
    t = time.perf_counter()
    images = faces(model, prompts, list(range(n)), steps, guidance)
    per_face = (time.perf_counter() - t) / n
    res, _ = evaluate(
        ImageSet(f"g{guidance}-s{steps}", images, prompts, [""] * n), EvalConfig(balanced_ref=None)
    )
    adh = adherence(adh_prompts, [""] * len(adh_prompts),
                    predict(faces(model, adh_prompts, list(range(50_000, 50_000 + len(adh_prompts))), steps, guidance)))  # fmt: skip
    s, q = res["set"], res["qa"]
    return {
        "steps": steps,
        "guidance": guidance,
        "fd": metric(s, "fd_effnet"),
        "precision": metric(s, "precision"),
        "recall": metric(s, "recall"),
        "eyes": q["eyes_consistent_rate"],
        "face_rate": q["face_rate"],
        "adherence": adh["overall"],
        "adherence_by_request": adh["by_request"],
        "seconds_a_face": per_face,
    }


def markdown_row(r: dict) -> str:
    return (f"| {r['steps']} | {r['guidance']:g} | {r['fd']:.1f} | {r['precision']:.3f} | {r['recall']:.3f} | "
            f"{r['eyes']:.3f} | {r['face_rate']:.3f} | {r['adherence']:.3f} | {r['seconds_a_face']:.3f} |")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument(
        "--settings", default=",".join(f"{s}:{g:g}" for s, g in SETTINGS), help="steps:guidance,..."
    )
    ap.add_argument("--adherence-per-prompt", type=int, default=30)
    args = ap.parse_args()
    model = FaceDiffusion.from_pretrained(args.weights)
    prompts, adh_prompts = evaluation_prompts(args.n, args.adherence_per_prompt)
    print(HEADER)
    for steps, guidance in (tuple(map(float, x.split(":"))) for x in args.settings.split(",")):
        print(markdown_row(score_setting(model, prompts, adh_prompts, int(steps), guidance)), flush=True)


if __name__ == "__main__":
    main()
