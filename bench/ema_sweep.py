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
from portraitist.checkpoints import load_weights
from portraitist.data import load
from portraitist.evaluation.evaluate import describe, describe_real, qa_summary, reference_set, set_metrics
from portraitist.pipelines.face_diffusion import FaceDiffusion
from portraitist.training.posthoc_ema import reconstruct


def with_ema(model: FaceDiffusion, snapshots: Path, sigma: float) -> dict:
    """Load the rebuilt EMA of width sigma into the model's denoiser; returns what it was made of."""
    weights, info = reconstruct(snapshots, sigma)
    model.denoiser.net.load_state_dict(
        {k[len("net.") :]: v for k, v in weights.items() if k.startswith("net.")}
    )
    return info


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
    reference = describe_real(reference_set("celeba64", 5000), "reference")
    model = FaceDiffusion.from_pretrained(args.model)
    rows = []
    print("| EMA | step | fd_effnet | precision | recall | QA pass |\n|---|---:|---:|---:|---:|---:|")
    sigmas = [float(s) for s in args.sigmas.split(",") if s] if args.snapshots else []
    for sigma in [None, *sigmas]:
        info = with_ema(model, args.snapshots, sigma) if sigma else {"step": "export"}
        images = run(model, prompts, list(range(args.n)))
        s = describe(images)
        metrics = set_metrics(s, reference, args.n, images) | qa_summary(s.measures)
        rows.append((sigma, info, metrics))
        tag = f"{args.n // 1000}k" if args.n % 1000 == 0 else str(args.n)
        print(f"| {args.model.name + ' as saved' if sigma is None else f'sigma_rel {sigma}'} | {info['step']} "
              f"| {metrics[f'fd_effnet_{tag}']:.2f} | {metrics[f'precision_effnet_{tag}']:.3f} "
              f"| {metrics[f'recall_effnet_{tag}']:.3f} | {metrics['qa_pass_rate']:.3f} |", flush=True)  # fmt: skip
    if args.write_best:
        fd = next(k for k in rows[0][2] if k.startswith("fd_effnet_"))
        sigma, _, _ = min(rows, key=lambda r: r[2][fd])
        if sigma is None:  # (also where no snapshots were given)
            print("the trainer's own EMA measures best: nothing written")
            return
        info = with_ema(model, args.snapshots, sigma)
        record = {k: v for k, v in load_weights(args.model)[1].items() if k not in ("kind", "config")}
        model.save_pretrained(args.write_best, **(record | {"posthoc_ema": info}))
        print(f"wrote {args.write_best}: sigma_rel {sigma}")


if __name__ == "__main__":
    main()
