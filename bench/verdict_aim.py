"""Where should the per-face verdict's lines aim? The calibration (`python -m
portraitist.quality.calibrate`) sets the landmark lines so that a share of real faces (the aim)
passes the whole verdict, after capping the share of real faces the malformation score alone may
flag. This sweeps both, and whether the lines are set on all the calibration's real faces or only
on those the score was not fitted to as well-formed anchors, and reports for each row what the
issue asks of the verdict: the share of real held-out faces passing (the calibration's held-out
sample, and a third seeded sample disjoint from both, per pack), and the malformed and well-formed
faces flagged on the labelled sheets marked "test" (malformed_labels.json).

    python bench/verdict_aim.py [--per-pack 1000] [--aims 0.955,0.96] [--caps 0.015,0.01]

Every measure is made once (about 10 minutes on this CPU: 9,000 real faces and the labelled sheets);
each row then costs seconds. Prints Markdown.
"""

from __future__ import annotations

import argparse

import numpy as np

from portraitist.quality import calibrate as cal
from portraitist.quality.analysis import analyse
from portraitist.quality.checks import verdicts


def pass_rates(m, taken: dict, thresholds: dict) -> tuple[float, dict[str, float]]:
    """The share of faces passing the whole verdict, overall and per pack (`taken`: rows per pack)."""
    passed = np.array([v.passed for v in verdicts(m, thresholds)])
    ends = np.cumsum([len(rows) for rows in taken.values()])
    parts = np.split(passed, ends[:-1])
    return float(passed.mean()), {pack: float(p.mean()) for pack, p in zip(taken, parts, strict=True)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-pack", type=int, default=1000)
    ap.add_argument("--aims", default="0.955,0.96", help="shares of real faces the lines aim to pass")
    ap.add_argument("--caps", default="0.015,0.01", help="most real faces the malformation score may flag")
    args = ap.parse_args()

    images, taken = cal.real_sample(args.per_pack, 0)
    m = analyse(images, progress=True)
    held_images, held_taken = cal.real_sample(args.per_pack, 1, exclude=taken)
    held = analyse(held_images, progress=True)
    both = {pack: np.concatenate([taken[pack], held_taken[pack]]) for pack in taken}
    third_images, third_taken = cal.real_sample(args.per_pack, 2, exclude=both)
    third = analyse(third_images, progress=True)
    sheets = cal.labelled_faces()
    fit, test = cal.measured(sheets, "fit"), cal.measured(sheets, "test")
    score, non_anchors = cal.fit_malformation(m, fit)

    print(f"real faces: {len(m)} to set the lines, {len(held)} held out, {len(third)} in a third sample "
          f"({', '.join(f'{p} {len(r)}' for p, r in third_taken.items())})\n")  # fmt: skip
    test_sheets = [f"{s['model']} {s['first_seed']}-{s['first_seed'] + s['count'] - 1}"
                   for s, _, _ in sheets if s["use"] == "test"]  # fmt: skip
    print("| aim | score's cap | lines set on | held-out pass | third sample pass (by pack) | sharpness line | "
          + " | ".join(f"{name}: malformed / well-formed flagged" for name in test_sheets) + " |")  # fmt: skip
    print("|---:|---:|---|---:|---|---:|" + "---:|" * len(test_sheets))
    for aim in (float(a) for a in args.aims.split(",")):
        for cap in (float(c) for c in args.caps.split(",")):
            for name, lines_on in (("all", m), ("non-anchors", non_anchors)):
                t = cal.verdict_thresholds(lines_on, {"face_score": 0.6}, score, pass_rate=aim, real_fail=cap)
                held_rate, _ = pass_rates(held, held_taken, t)
                third_rate, by_pack = pass_rates(third, third_taken, t)
                flagged = cal.per_sheet(sheets, "test", *test, t)
                cells = [f"{f['malformed_flagged']} of {f['malformed']} / {f['well_formed_flagged']} of "
                         f"{f['well_formed']}" for f in flagged.values()]  # fmt: skip
                packs = ", ".join(f"{p} {r:.3f}" for p, r in by_pack.items())
                print(f"| {aim} | {cap} | {name} ({len(lines_on)}) | {held_rate:.3f} | {third_rate:.3f} ({packs}) | "
                      f"{t['sharpness']:.4f} | " + " | ".join(cells) + " |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
