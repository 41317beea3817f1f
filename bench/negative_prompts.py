"""Does the negative prompt work? For attributes with a high base rate, the share of faces showing
the attribute with and without it in the negative prompt (same prompts, same seeds, default
settings), measured by instruments not used in training.

    python bench/negative_prompts.py [--weights PATH] [--n 200]
"""

from __future__ import annotations

import argparse

import numpy as np

from portraitist.data.schema import CELEBA_ATTRIBUTES
from portraitist.engines.embedded import FACE_DIFFUSION
from portraitist.evaluation.predictors import predict
from portraitist.pipelines.face_diffusion import FaceDiffusion

CASES = [  # prompt, negative, what is measured
    ("portrait photo of a person", "smiling", "smile"),
    ("portrait photo of a person", "a woman", "female"),
    ("portrait photo of a person", "a man", "male"),
    ("portrait photo of a person with blond hair", "blond hair", "blond"),
    ("portrait photo of a person wearing glasses", "eyeglasses", "eyeglasses"),
]


def rate(pred, what: str) -> float:
    found = pred.face_found
    if what == "smile":
        return float(np.mean(np.nan_to_num(pred.smile[found]) > 0.5))
    if what in ("male", "female"):
        return float(np.mean(pred.gender[found] == what))
    column = {"blond": "Blond_Hair", "eyeglasses": "Eyeglasses"}[what]
    return float(np.mean(pred.celeba[found, CELEBA_ATTRIBUTES.index(column)] >= 0.5))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights")
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args()
    model = FaceDiffusion.from_pretrained(args.weights)
    seeds = list(range(300_000, 300_000 + args.n))
    steps, guidance, sampler = (
        FACE_DIFFUSION.default_steps,
        FACE_DIFFUSION.default_guidance,
        FACE_DIFFUSION.default_sampler,
    )
    print(
        f"| prompt | negative prompt | measured | without | with (n={args.n}, same seeds) |\n|---|---|---|---:|---:|"
    )
    for prompt, negative, what in CASES:
        without = predict(model.generate_seeds(prompt, None, steps, guidance, seeds, sampler))
        with_neg = predict(model.generate_seeds(prompt, negative, steps, guidance, seeds, sampler))
        print(
            f"| {prompt} | {negative} | {what} | {rate(without, what):.3f} | {rate(with_neg, what):.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
