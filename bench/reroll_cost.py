"""What re-rolling bad faces costs and buys, through the Python API a user calls: the time for one
face and for a batch of 16 at `reroll` 0..K (measured side by side, rounds in rotating order, the
median per setting), and on 64 faces of the README prompt how many leave still failing QA, how
many generations re-rolling spent, and how many show everything the prompt asks (the adherence
bench's classifiers: a verdict that prefers some looks would re-roll the prompt away).

    python bench/reroll_cost.py [--model face-diffusion] [--weights PATH] [--max-reroll 3] [--rounds 3] [--nearby S]

Times are ratios on a shared machine; compare settings within one run only.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import numpy as np
from face_sheet import README_PROMPT
from same_person import attribute_hits

from portraitist import api
from portraitist.api import generate
from portraitist.quality.analysis import analyse
from portraitist.quality.checks import verdicts
from portraitist.quality.reroll import DEFAULT_REQUIRE


def seconds(**kw) -> float:
    t = time.perf_counter()
    generate(README_PROMPT, **kw)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="face-diffusion")
    ap.add_argument("--weights")
    ap.add_argument("--nearby", type=float, help="a retry draws a variation of the failed face at this "
                    "strength (ModelCard.reroll_nearby); 0: the retry seed's own face")  # fmt: skip
    ap.add_argument("--max-reroll", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if args.nearby is not None:  # the engine's card, as if it shipped with this setting
        engine = api.engine(args.model, args.weights)
        engine.card = replace(engine.card, reroll_nearby=args.nearby or None)
    kw = {"model": args.model, "weights": args.weights}
    settings = list(range(args.max_reroll + 1))
    generate(README_PROMPT, num_images=2, reroll=1, **kw)  # load the model and the QA instruments
    one = {k: [] for k in settings}
    sixteen = {k: [] for k in settings}
    for r in range(args.rounds):
        for k in settings[r % len(settings) :] + settings[: r % len(settings)]:
            one[k].append(seconds(seed=100 + r, reroll=k, **kw))
            sixteen[k].append(seconds(seed=1000 + 16 * r, num_images=16, reroll=k, **kw))
    print("| reroll | one face s | 16 faces s | of 64 faces: still failing QA | generations spent | "
          "showing all the prompt asks |\n|---:|---:|---:|---:|---:|---:|")  # fmt: skip
    for k in settings:
        images = generate(README_PROMPT, seed=0, num_images=64, reroll=k, **kw)
        faces = np.stack([np.asarray(img) for img in images])
        qa = verdicts(analyse(faces))
        shows = sum(attribute_hits(faces, README_PROMPT))
        failing = sum(not all(getattr(v, name) for name in DEFAULT_REQUIRE) for v in qa)
        spent = sum(int(img.info.get("tries", 1)) for img in images)
        print(f"| {k} | {statistics.median(one[k]):.3f} | {statistics.median(sixteen[k]):.2f} | {failing} | {spent} | {shows} |",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
