"""Score the shipped text-to-face diffusion model with the instruments, against the issue's targets.

    python bench/score_diffusion.py [--weights PATH] [--n 5000] [--out docs/eval/diffusion]

1. Speed: one face and a batch of 16 at default settings, timed here.
2. Realism, anatomy, diversity, memorisation: N faces, each prompted with the caption of a random
   held-out CelebA face, scored against CelebA valid like the reference rows. Then the bias audit on
   faces prompted from all three packs' held-out captions in equal thirds.
3. Attribute adherence: 50 faces for each of man / woman, smiling / serious, eyeglasses / none,
   blond / black hair, young / old.
4. Negative prompt: the eyeglasses rate of "portrait photo of a man" with and without
   --negative "eyeglasses".
Prints Markdown; the latest result is recorded in docs/models/face_diffusion.md.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from portraitist.captions import caption
from portraitist.data import load
from portraitist.data.schema import CELEBA_ATTRIBUTES
from portraitist.engines.embedded import FACE_DIFFUSION
from portraitist.evaluation.adherence import ADHERENCE_PROMPTS, adherence
from portraitist.evaluation.evaluate import EvalConfig, ImageSet, evaluate
from portraitist.evaluation.predictors import predict
from portraitist.evaluation.report import write_report
from portraitist.pipelines.face_diffusion import FaceDiffusion


def run(
    model: FaceDiffusion, prompts: list[str], seeds: list[int], negative: str | None = None, batch: int = 64
):
    """Faces for per-seed prompts at default settings, in batches."""
    steps, guidance, sampler = (
        FACE_DIFFUSION.default_steps,
        FACE_DIFFUSION.default_guidance,
        FACE_DIFFUSION.default_sampler,
    )
    return np.concatenate([model.generate_seeds(prompts[s : s + batch], negative, steps, guidance, seeds[s : s + batch], sampler)
                           for s in range(0, len(prompts), batch)])  # fmt: skip


def measure_adherence(model) -> dict:
    """50 faces for each adherence prompt, fixed seeds."""
    adh_prompts, adh_seeds = [], []
    for k, prompt in enumerate(ADHERENCE_PROMPTS.values()):
        adh_prompts += [prompt] * 50
        adh_seeds += list(range(100000 + 1000 * k, 100000 + 1000 * k + 50))
    adh_images = run(model, adh_prompts, adh_seeds, batch=50)
    return adherence(adh_prompts, [""] * len(adh_prompts), predict(adh_images))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument(
        "--n-mix", type=int, default=3000, help="faces prompted from all three packs (bias audit)"
    )
    ap.add_argument("--train-limit", type=int, default=10000)
    ap.add_argument("--out", type=Path, default=Path("docs/eval/diffusion"))
    ap.add_argument("--adherence-only", action="store_true", help="measure attribute adherence alone")
    args = ap.parse_args()
    model = FaceDiffusion.from_pretrained(args.weights)
    if args.adherence_only:
        print(json.dumps(measure_adherence(model), indent=2))
        return
    report = {}

    model.generate_seeds(
        "a face",
        None,
        FACE_DIFFUSION.default_steps,
        FACE_DIFFUSION.default_guidance,
        [0],
        FACE_DIFFUSION.default_sampler,
    )
    t = time.perf_counter()
    for i in range(5):
        model.generate_seeds("portrait of a smiling woman", None, 8, 3.0, [i], "dpmpp_2m")
    report["seconds_one_face"] = (time.perf_counter() - t) / 5
    t = time.perf_counter()
    model.generate_seeds("portrait of a smiling woman", None, 8, 3.0, list(range(16)), "dpmpp_2m")
    report["seconds_batch_16"] = time.perf_counter() - t
    print(
        f"speed: one face {report['seconds_one_face']:.3f} s, batch of 16 {report['seconds_batch_16']:.2f} s",
        flush=True,
    )

    # Realism against the reference rows: prompts from held-out CelebA labels, scored against CelebA
    # valid, as the real-photo and peer rows are (a CelebA-conditioned sample against a CelebA reference).
    rng = random.Random(0)
    celeba = load("celeba64", progress=False).filter(split="valid")
    prompts = [caption(celeba.labels[rng.choice(celeba.index)], rng) for _ in range(args.n)]
    t = time.perf_counter()
    images = run(model, prompts, list(range(args.n)))
    report["generate_seconds"] = time.perf_counter() - t
    res, art = evaluate(ImageSet("face-diffusion", images, prompts, [""] * len(prompts)),
                        EvalConfig(train="celeba64", train_limit=args.train_limit))  # fmt: skip
    write_report(res, art, args.out)
    report["evaluation"] = res

    # The whole training mixture: prompts from all three packs in equal thirds (bias audit against
    # FairFace's balanced held-out faces; FD here also carries the packs' domain gap to CelebA).
    labels = []
    for pack in ("celeba64", "fairface64", "utkface64"):
        valid = load(pack, progress=False).filter(split="valid")
        labels.append([valid.labels[r] for r in valid.index])
    mix_prompts = [caption(rng.choice(rng.choice(labels)), rng) for _ in range(args.n_mix)]
    mix_images = run(model, mix_prompts, list(range(10**6, 10**6 + args.n_mix)))
    mix, mix_art = evaluate(
        ImageSet("face-diffusion-mixture", mix_images, mix_prompts, [""] * args.n_mix), EvalConfig()
    )
    write_report(mix, mix_art, args.out / "mixture")
    report["mixture"] = {"qa": mix["qa"], "set": mix["set"], "bias": mix.get("bias")}

    report["adherence"] = measure_adherence(model)

    k = CELEBA_ATTRIBUTES.index("Eyeglasses")
    seeds = list(range(200000, 200200))
    plain = predict(run(model, ["portrait photo of a man"] * 200, seeds)).celeba[:, k] >= 0.5
    negated = (
        predict(run(model, ["portrait photo of a man"] * 200, seeds, negative="eyeglasses")).celeba[:, k]
        >= 0.5
    )
    report["negative_prompt_eyeglasses"] = {
        "without_negative": float(plain.mean()),
        "with_negative": float(negated.mean()),
    }

    (args.out / "score.json").write_text(json.dumps(report, indent=2, default=float))
    q, s = res["qa"], res["set"]
    print(json.dumps({k: v for k, v in report.items() if k != "evaluation"}, indent=2, default=float))
    print(json.dumps({"qa": q, "set": s, "memorisation": res.get("memorisation")}, indent=2, default=float))


if __name__ == "__main__":
    main()
