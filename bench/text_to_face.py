"""Which text-to-face model measures best? Models side by side through their engines, each at its
own defaults and without re-roll (the model alone), on what the default model must do (issue 15):

1. Caption prompts: N faces, each prompted with the caption of a random held-out CelebA face (the
   prompts and seeds of bench/ema_sweep.py), against CelebA valid: FD, precision, recall, QA pass.
2. The vague prompt "close-up portrait photo of a person": N faces, against CelebA valid: FD,
   precision, recall, identity diversity, eyes consistent (bench/vague_prompt.py's measures).
3. Prompt adherence: K faces for each of the ten adherence prompts.
4. Speed: 16 faces in one call.

    python bench/text_to_face.py --model face-diffusion --model face-gan=PATH/face_gan_text.safetensors --n 1000
    (--vary truncation=0.7,0.85 or --vary guidance=1,2: one row per value for the models whose
    card takes that setting, to choose a default)

FD on 1,000 faces is biased upwards against the 5k figures and ranks models only. Prints Markdown:
the table, then each row's adherence by request (which attributes a model reads from a prompt).
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np

from portraitist import api
from portraitist.captions import caption
from portraitist.data import load
from portraitist.engines import Request
from portraitist.evaluation.adherence import ADHERENCE_PROMPTS, adherence
from portraitist.evaluation.evaluate import EvalConfig, ImageSet, evaluate, metric
from portraitist.evaluation.predictors import predict

VAGUE = "close-up portrait photo of a person"


def faces(engine, prompts: list[str], seeds: list[int], **settings) -> np.ndarray:
    """One face per (prompt, seed), at the model's defaults (or `settings`), without re-roll; runs of
    one prompt batched."""
    out, i = [], 0
    while i < len(prompts):
        j = i
        while j < len(prompts) and prompts[j] == prompts[i] and seeds[j] == seeds[i] + (j - i) and j - i < 64:
            j += 1
        out += [
            np.asarray(im)
            for im in engine.generate(Request(prompts[i], seed=seeds[i], n=j - i, reroll=0, **settings))
        ]
        i = j
    return np.stack(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True, help="NAME or NAME=WEIGHTS (repeat)")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--adherence-per-prompt", type=int, default=20)
    ap.add_argument("--vary", help="SETTING=V1,V2,...: a row per value for models that take the setting")
    args = ap.parse_args()
    key, _, values = (args.vary or "").partition("=")
    if args.vary and (key not in ("truncation", "guidance", "steps") or not values):
        ap.error("--vary takes truncation=..., guidance=... or steps=... with comma-separated values")
    rng = random.Random(0)
    celeba = load("celeba64", progress=False).filter(split="valid")
    captions = [caption(celeba.labels[rng.choice(celeba.index)], rng) for _ in range(args.n)]
    adh_prompts = [p for p in ADHERENCE_PROMPTS.values() for _ in range(args.adherence_per_prompt)]
    adh_seeds = [50_000 + i for i in range(len(adh_prompts))]
    print(f"{args.n} faces per prompt set against CelebA valid; adherence on {len(adh_prompts)} faces\n")
    print("| model | captions: fd | precision | recall | QA pass | vague: fd | precision | recall | "
          "identity diversity (real) | eyes | adherence | 16 faces, s |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    by_request = {}
    for spec in args.model:
        name, _, weights = spec.partition("=")
        engine = api.engine(name, weights or None)
        engine.generate(Request(VAGUE, seed=0, n=16, reroll=0))  # warm-up: loading is not speed
        t = time.perf_counter()
        engine.generate(Request(VAGUE, seed=1, n=16, reroll=0))
        seconds = time.perf_counter() - t
        choices = [{}]
        if key and getattr(engine.card, key) is not None:
            choices = [{key: (int if key == "steps" else float)(x)} for x in values.split(",")]
        for settings in choices:
            label = spec + "".join(f" {k}={v:g}" for k, v in settings.items())
            cap, _ = evaluate(ImageSet(f"{name}-captions", faces(engine, captions, list(range(args.n)), **settings)),
                              EvalConfig())  # fmt: skip
            vague, _ = evaluate(
                ImageSet(f"{name}-vague", faces(engine, [VAGUE] * args.n, list(range(args.n)), **settings)),
                EvalConfig(balanced_ref=None),
            )
            pred = predict(faces(engine, adh_prompts, adh_seeds, **settings))
            adh = adherence(adh_prompts, [""] * len(adh_prompts), pred)
            by_request[label] = {k: v["rate"] for k, v in adh["by_request"].items()}
            c, v = cap["set"], vague["set"]
            print(f"| {label} | {metric(c, 'fd_effnet'):.1f} | {metric(c, 'precision'):.3f} | {metric(c, 'recall'):.3f} | "
                  f"{cap['qa']['qa_pass_rate']:.3f} | {metric(v, 'fd_effnet'):.1f} | {metric(v, 'precision'):.3f} | "
                  f"{metric(v, 'recall'):.3f} | {v['identity_diversity']:.3f} ({v['identity_diversity_real']:.3f}) | "
                  f"{vague['qa']['eyes_consistent_rate']:.3f} | {adh['overall']:.3f} | {seconds:.2f} |", flush=True)  # fmt: skip
    requests = sorted({k for rates in by_request.values() for k in rates})
    print("\n| adherence by request | " + " | ".join(requests) + " |")
    print("|---|" + "---:|" * len(requests))
    for label, rates in by_request.items():
        print(f"| {label} | " + " | ".join(f"{rates[k]:.2f}" if k in rates else "-" for k in requests) + " |")


if __name__ == "__main__":
    main()
