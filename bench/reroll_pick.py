"""Which try should a re-roll keep: the first that passes QA, or the passing one with the lowest
malformation score? Estimated on the faces a person labelled (quality/malformed_labels.json, the
held-out "test" sheets only, so the score was not fitted on them): random groups of N labelled
faces of one model stand for one face's N tries, and the share of malformed faces each rule keeps
is averaged over many groups. No generation beyond the labelled seeds, so it is quick; what a
rule costs is bench/reroll_cost.py's.

    python bench/reroll_pick.py [--tries 3,4,6] [--groups 20000]

Where no try passes, both rules keep the best by QA margin (quality/reroll.py). The estimate is
only as good as the labels: on face-gan-text, whose labelled sheets are all of one prompt, it
promised fewer malformed faces than the sheet then showed, because the score had learnt an
attribute (hair colour) along with malformation (docs/evaluation.md). Check a rule by eye, and
with bench/reroll_cost.py's adherence column, before adopting it.
"""

from __future__ import annotations

import argparse

import numpy as np

from portraitist.quality.calibrate import labelled_faces, measured
from portraitist.quality.checks import malformation_of, score, verdicts
from portraitist.quality.reroll import DEFAULT_REQUIRE


def kept_malformed(ok, mal, margin, malformed, tries: int, groups: int, seed: int = 0) -> dict[str, float]:
    """Mean share of malformed faces each rule keeps over `groups` random groups of `tries` faces."""
    rng = np.random.default_rng(seed)
    kept = {"first": [], "best": []}
    for _ in range(groups):
        g = rng.choice(len(ok), tries, replace=False)
        passing = g[ok[g]]
        fallback = g[np.argmax(margin[g])]
        kept["first"].append(malformed[passing[0]] if len(passing) else malformed[fallback])
        kept["best"].append(
            malformed[passing[np.argmin(mal[passing])]] if len(passing) else malformed[fallback]
        )
    return {rule: float(np.mean(v)) for rule, v in kept.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tries", default="3,4,6", help="comma-separated N (a re-roll of K gives N = K + 1)")
    ap.add_argument("--groups", type=int, default=20000)
    args = ap.parse_args()
    sheets = labelled_faces()
    print("| model | labelled faces (malformed) | QA fails: malformed / well-formed | tries N | malformed kept: "
          "first passing | lowest malformation |\n|---|---:|---:|---:|---:|---:|")  # fmt: skip
    for model in dict.fromkeys(s["model"] for s, _, _ in sheets):
        m, malformed = measured([s for s in sheets if s[0]["model"] == model], "test")
        ok = np.array([all(getattr(v, name) for name in DEFAULT_REQUIRE) for v in verdicts(m)])
        mal = np.array([malformation_of(m, i) for i in range(len(ok))])
        margin = np.array([score(m, i) for i in range(len(ok))])
        fails = f"{int((~ok & malformed).sum())} / {int((~ok & ~malformed).sum())}"
        for n in (int(x) for x in args.tries.split(",")):
            r = kept_malformed(ok, mal, margin, malformed, n, args.groups)
            print(f"| {model} | {len(ok)} ({int(malformed.sum())}) | {fails} | {n} | {r['first']:.3f} | {r['best']:.3f} |",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
