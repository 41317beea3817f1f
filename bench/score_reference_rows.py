"""The two reference rows every generator is compared with, measured with the instruments:
real photos (CelebA train faces, not in the reference) and the gan-face-generate peer DCGAN,
both against the CelebA valid reference; then the same peer scoring again with warm caches, timed.

    python bench/score_reference_rows.py [--n 5000] [--train-limit 10000] --out docs/eval

Writes metrics.json / report.html per row under --out and prints a Markdown table; the latest
result is recorded in docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from portraitist.data import load
from portraitist.evaluation.evaluate import EvalConfig, ImageSet, evaluate, metric
from portraitist.evaluation.peer import peer_samples
from portraitist.evaluation.report import write_report


def row(name: str, res: dict) -> str:
    s, q = res["set"], res["qa"]
    fd, kid, p, r = (metric(s, name) for name in ("fd_effnet", "kid_effnet", "precision", "recall"))
    mem = res.get("memorisation", {}).get("samples", {})
    return (f"| {name} | {res['n']} | {q['face_rate']:.4f} | {q['eyes_consistent_rate']:.3f} | {q['symmetric_rate']:.3f} "
            f"| {fd:.2f} | {kid:.4f} | {p:.3f} | {r:.3f} | {s.get('mode_collapse_score', 0):.3f} "
            f"| {mem.get('identity_match_rate', float('nan')):.4f} | {mem.get('ratio_test_fail_rate', float('nan')):.4f} "
            f"| {res['seconds']:.0f} |")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--train-limit", type=int, default=10000)
    ap.add_argument("--out", type=Path, default=Path("docs/eval"))
    args = ap.parse_args()
    config = EvalConfig(ref="celeba64", train="celeba64", train_limit=args.train_limit)
    faces = load("celeba64", progress=False).filter(split="train")
    rows = np.sort(np.random.default_rng(1).choice(faces.index, args.n, replace=False))
    sets = {
        "real photos (CelebA train faces)": ImageSet("celeba-train", np.asarray(faces.images[rows])),
        "peer: gan-face-generate DCGAN": ImageSet("peer-dcgan", peer_samples(args.n, seed=0)),
    }
    lines = []
    for name, samples in sets.items():
        res, art = evaluate(samples, config)
        write_report(res, art, args.out / samples.name)
        lines.append(row(name, res))
        print(lines[-1], flush=True)
    t = time.time()
    res, _ = evaluate(sets["peer: gan-face-generate DCGAN"], config)
    warm = time.time() - t
    print(
        "\n| set | n | face rate | eyes consistent | symmetric | fd_effnet | kid_effnet | precision | recall "
        "| mode collapse | identity match | ratio-test fail | seconds |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(lines))
    print(f"\nscoring {args.n} samples with every metric, reference features cached: {warm:.0f} s")
    (args.out / "reference_rows.json").write_text(json.dumps({"warm_seconds": warm, "rows": lines}, indent=2))


if __name__ == "__main__":
    main()
