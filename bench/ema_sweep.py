"""Choose the EMA length after training (post-hoc EMA): rebuild the denoiser's EMA at several widths
from a run's snapshots and measure each side by side, with the run's own export as the first row.

    python bench/ema_sweep.py RUN/ema-snapshots --model RUN/EXPORT.safetensors \
        [--sigmas 0.05,0.075,0.10,0.15] [--n 1000] [--write-best FILE]
    python bench/ema_sweep.py --model OTHER.safetensors        # the same row for any model, e.g. the shipped one

Each row: N faces at default settings, each prompted with the caption of a random held-out CelebA
face (score_diffusion.py's recipe, same prompts and seeds for every row), scored against CelebA
valid: fd_effnet, precision, recall, and the per-face verdict's pass rate. FD on 1,000 faces is
biased upwards against the 5k figures and ranks settings only. `--write-best` saves the width with
the lowest FD as a model file (what `python -m portraitist.training.posthoc_ema` writes), unless
the trainer's own EMA measures best.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from score_diffusion import run

from portraitist.captions import caption
from portraitist.data import load
from portraitist.evaluation.evaluate import (
    EvalConfig,
    describe,
    describe_real,
    metric,
    qa_summary,
    reference_set,
    set_metrics,
)
from portraitist.pipelines.face_diffusion import FaceDiffusion
from portraitist.training.posthoc_ema import load_rebuilt, save_rebuilt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("snapshots", type=Path, nargs="?", help="the run's ema-snapshots folder")
    ap.add_argument("--model", type=Path, required=True, help="the run's export (its configuration, its EMA)")
    ap.add_argument("--sigmas", default="0.05,0.075,0.10,0.15")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--write-best", type=Path)
    args = ap.parse_args()
    rng = random.Random(0)
    celeba = load("celeba64", progress=False).filter(split="valid")
    prompts = [caption(celeba.labels[rng.choice(celeba.index)], rng) for _ in range(args.n)]
    config = EvalConfig()  # the realism bench's reference: CelebA valid
    reference = describe_real(reference_set(config.ref, config.ref_limit), "reference")
    model = FaceDiffusion.from_pretrained(args.model)
    rows = []
    print("| EMA | step | fd_effnet | precision | recall | QA pass |\n|---|---:|---:|---:|---:|---:|")
    sigmas = [float(s) for s in args.sigmas.split(",") if s] if args.snapshots else []
    for sigma in [None, *sigmas]:
        info = load_rebuilt(model, args.snapshots, sigma, model=args.model) if sigma else {"step": "export"}
        images = run(model, prompts, list(range(args.n)))
        s = describe(images)
        metrics = set_metrics(s, reference, args.n, images) | qa_summary(s.measures)
        rows.append((sigma, info, metrics))
        print(f"| {args.model.name + ' as saved' if sigma is None else f'sigma_rel {sigma}'} | {info['step']} "
              f"| {metric(metrics, 'fd_effnet'):.2f} | {metric(metrics, 'precision'):.3f} | {metric(metrics, 'recall'):.3f} "
              f"| {metrics['qa_pass_rate']:.3f} |", flush=True)  # fmt: skip
    if args.write_best:
        sigma, _, _ = min(rows, key=lambda r: metric(r[2], "fd_effnet"))
        if sigma is None:  # (also where no snapshots were given)
            print("the trainer's own EMA measures best: nothing written")
            return
        save_rebuilt(
            model, args.model, args.write_best, load_rebuilt(model, args.snapshots, sigma, model=args.model)
        )
        print(f"wrote {args.write_best}: sigma_rel {sigma}")


if __name__ == "__main__":
    main()
