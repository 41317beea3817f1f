"""Does a vague prompt keep the variety of faces? Faces of "close-up portrait photo of a person"
(the README's kind of prompt) scored against CelebA valid like the realism bench: recall,
precision, FD, identity diversity; and the 10 x N adherence bench, so that a sampling change that
buys variety is seen to keep prompt adherence. One row per guidance setting, side by side.

    python bench/vague_prompt.py [--weights PATH] [--n 2000] [--settings "3:all,3:0.3-5"]

A setting is GUIDANCE:INTERVAL, INTERVAL being `all` (guidance at every noise level) or `LO-HI`
(guidance only for LO < sigma <= HI; diffusion/guidance.py), or GUIDANCE:auto for autoguidance by
the weaker model `--weak PATH` (same latent space) instead of classifier-free guidance. Prints Markdown (recorded in
docs/models/face_diffusion.md).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from score_diffusion import ADHERENCE_PROMPTS

from portraitist.engines.embedded import FACE_DIFFUSION
from portraitist.evaluation.adherence import adherence
from portraitist.evaluation.evaluate import EvalConfig, ImageSet, evaluate, metric
from portraitist.evaluation.predictors import predict
from portraitist.pipelines.face_diffusion import FaceDiffusion
from portraitist.vocabulary import split_negations

VAGUE = "close-up portrait photo of a person"


def faces(model, prompts, seeds, guidance, batch=100) -> np.ndarray:
    steps, sampler = FACE_DIFFUSION.default_steps, FACE_DIFFUSION.default_sampler
    return np.concatenate([model(prompts[i : i + batch], None, steps, guidance, seeds[i : i + batch], sampler)
                           for i in range(0, len(prompts), batch)])  # fmt: skip


def parse_setting(text: str) -> tuple[float, tuple[float, float] | None]:
    guidance, _, interval = text.partition(":")
    if interval in ("", "all", "auto"):
        return float(guidance), None
    lo, hi = interval.split("-")
    return float(guidance), (float(lo), float(hi))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--settings", default="3:all,3:0.3-5")
    ap.add_argument("--adherence-per-prompt", type=int, default=50)
    ap.add_argument("--weak", help="autoguidance's weaker model (settings G:auto), e.g. an earlier export")
    args = ap.parse_args()
    model = FaceDiffusion.from_pretrained(args.weights)
    weak = FaceDiffusion.from_pretrained(args.weak).denoiser if args.weak else None
    adh_prompts = [p for p in ADHERENCE_PROMPTS.values() for _ in range(args.adherence_per_prompt)]
    print(f"{args.n} faces of '{VAGUE}' against CelebA valid; adherence on {len(adh_prompts)} faces\n")
    print(
        "| guidance | interval | fd_effnet | precision | recall | identity diversity (real) | eyes | adherence | s/face |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for text in args.settings.split(","):
        guidance, interval = parse_setting(text)
        model.guidance_interval = interval
        model.weak = weak if text.endswith(":auto") else None
        if text.endswith(":auto") and weak is None:
            raise SystemExit("G:auto needs --weak PATH")
        t = time.perf_counter()
        images = faces(model, [VAGUE] * args.n, list(range(args.n)), guidance)
        per_face = (time.perf_counter() - t) / args.n
        res, _ = evaluate(ImageSet(f"vague-{text}", images, [VAGUE] * args.n, [""] * args.n),
                          EvalConfig(balanced_ref=None))  # fmt: skip
        # autoguidance has no negative branch: prompts with a negated phrase ("without glasses") are left out
        asked = [p for p in adh_prompts if model.weak is None or not split_negations(p)[1]]
        seeds = list(range(50_000, 50_000 + len(asked)))
        adh = adherence(asked, [""] * len(asked), predict(faces(model, asked, seeds, guidance)))
        s, q = res["set"], res["qa"]

        where = "all" if interval is None else f"{interval[0]:g} < sigma <= {interval[1]:g}"
        where = "autoguidance" if model.weak is not None else where
        print(f"| {guidance:g} | {where} | {metric(s, 'fd_effnet'):.1f} | {metric(s, 'precision'):.3f} | {metric(s, 'recall'):.3f} | "
              f"{s['identity_diversity']:.3f} ({s['identity_diversity_real']:.3f}) | {q['eyes_consistent_rate']:.3f} | "
              f"{adh['overall']:.3f} | {per_face:.3f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
