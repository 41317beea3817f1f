"""Does re-rolling change whom a model draws? A re-roll replaces the faces the QA fails with other
seeds' faces; if the QA fails some groups more often, the re-rolled population shifts. Same seeds
at each re-roll setting, several vague prompts: the share of men and of smiling faces (the
attribute net's CelebA heads) and of each perceived race group (its FairFace head, "uncertain"
below 0.5 confidence).

    python bench/reroll_population.py [--model face-gan-text] [--n 320] [--reroll 0,2] [--nearby 0.3]
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from portraitist import api
from portraitist.api import generate
from portraitist.data.schema import CELEBA_ATTRIBUTES
from portraitist.evaluation.bias import perceived_race
from portraitist.evaluation.predictors import attribute_probabilities
from portraitist.nets.attribute_net import FAIRFACE_RACES

PROMPTS = ("close-up portrait photo of a person", "portrait photo of a person")


def population(faces: np.ndarray) -> dict[str, float]:
    celeba, race, _ = attribute_probabilities(faces)
    groups = perceived_race(race)
    share = {name: float((celeba[:, CELEBA_ATTRIBUTES.index(col)] >= 0.5).mean())
             for name, col in (("men", "Male"), ("smiling", "Smiling"))}  # fmt: skip
    return share | {g: float(np.mean(groups == g)) for g in (*FAIRFACE_RACES, "uncertain")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="face-gan-text")
    ap.add_argument("--weights")
    ap.add_argument("--nearby", type=float, help="a retry draws a variation of the failed face at this "
                    "strength (ModelCard.reroll_nearby); 0: the retry seed's own face")  # fmt: skip
    ap.add_argument("--n", type=int, default=320)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--reroll", default="0,2", help="comma-separated re-roll settings to compare")
    args = ap.parse_args()
    if args.nearby is not None:  # the engine's card, as if it shipped with this setting
        engine = api.engine(args.model, args.weights)
        engine.card = replace(engine.card, reroll_nearby=args.nearby or None)
    rows, step = [], api.engine(args.model, args.weights).card.max_images  # requests of the most it makes
    for prompt in PROMPTS:
        for k in (int(x) for x in args.reroll.split(",")):
            faces = [f for first in range(0, args.n, step)
                     for f in generate(prompt, seed=args.seed + first, num_images=min(step, args.n - first),
                                       model=args.model, weights=args.weights, reroll=k)]  # fmt: skip
            rows.append((prompt, k, population(np.stack([np.asarray(f) for f in faces]))))
    names = list(rows[0][2])
    print("| prompt | re-roll | " + " | ".join(names) + " |\n|---|---:|" + "---:|" * len(names))
    for prompt, k, share in rows:
        print(f"| {prompt} | {k} | " + " | ".join(f"{share[n]:.3f}" for n in names) + " |")


if __name__ == "__main__":
    main()
