"""How far must a GAN direction go to change what it names, and what does that cost the person?
For each supervised direction, faces that lack the attribute (as the directions' own labeller sees
it) are moved along it: the share that then shows it, and the SFace cosine to the face before
(YuNet-detected). This is what a calibration of the edit strengths (issue: GAN edits at strength 2
change the attribute in >= 70% of faces, identity >= 0.6) would have to work with.

    python bench/gan_edit_reach.py [--n 160]                          # shipped directions, 2-8 SD of W
    python bench/gan_edit_reach.py --kind meandiff --steps 1,2 --layers all,4-8,16-32,64,4-32,16-64
    python bench/gan_edit_reach.py --weights src/portraitist/weights/face_gan_text.safetensors

`--kind lda` moves along the shipped (LDA) directions in standard deviations of W; `--kind meandiff`
along the difference of the class means (fitted on `--fit` fresh faces, made orthogonal to gender
like the shipped ones), in units of the gap between the classes' means. `--layers` restricts the
move to the style inputs of those resolutions (W+; "all" is the plain W edit).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from portraitist.engines.embedded import FaceGANEngine
from portraitist.latent.gan_directions import attribute_labels, condition
from portraitist.quality.identity import sface_features

NAMES = ("age", "smile", "glasses", "blond", "gender")


def layer_indices(gan, spec: str) -> list[int]:
    """Style inputs of the resolutions in `spec` ("all", "16", "4-32"): at R px the two layers of
    that block (one at 4 px), the 64 px block also the final toRGB."""
    if spec == "all":
        return list(range(gan.G.num_ws))
    lo, _, hi = spec.partition("-")
    res = [4 * 2**b for b in range(int(np.log2(gan.G.resolution)) - 1)]
    first = {r: 0 if r == 4 else 2 * k - 1 for k, r in enumerate(res)}
    chosen = [r for r in res if int(lo) <= r <= int(hi or lo)]
    out = [i for r in chosen for i in ((0,) if r == 4 else (first[r], first[r] + 1))]
    return out + ([gan.G.num_ws - 1] if res[-1] in chosen else [])


def mean_difference_directions(gan, n: int) -> tuple[dict, dict]:
    """Unit class-mean differences in W (orthogonal to gender, gender to age) and each one's gap
    between the classes' means, from `n` faces labelled like the shipped directions."""
    seeds = list(range(n))
    ws = np.concatenate([gan.ws(seeds[i : i + 250]).numpy() for i in range(0, n, 250)])
    images = np.concatenate([gan.synthesize(torch.from_numpy(ws[i : i + 250]), seeds[i : i + 250])
                             for i in range(0, n, 250)])  # fmt: skip
    labels = attribute_labels(images)
    unit = {k: (ws[y].mean(0) - ws[~y].mean(0)) for k, y in labels.items() if 0 < y.mean() < 1}
    unit = {k: v / np.linalg.norm(v) for k, v in unit.items()}
    vectors, gaps = {}, {}
    for name in unit:
        others = ["age"] if name == "gender" else ["gender"]
        vectors[name] = u = condition(unit[name], [unit[o] for o in others if o in unit])
        gaps[name] = float((ws[labels[name]] @ u).mean() - (ws[~labels[name]] @ u).mean())
    return vectors, gaps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=160)
    ap.add_argument(
        "--weights", help="another GAN file (a text-conditioned one: its faces of the vague prompt)"
    )
    ap.add_argument("--kind", choices=("lda", "meandiff"), default="lda")
    ap.add_argument("--steps", default="2,4,6,8", help="SD of W (lda) or class-mean gaps (meandiff)")
    ap.add_argument("--layers", default="all", help="comma-separated: all, or resolutions such as 4-8, 64")
    ap.add_argument(
        "--fit", type=int, default=4000, help="faces the mean-difference directions are fitted on"
    )
    args = ap.parse_args()
    engine = FaceGANEngine(args.weights)
    gan, directions = engine.load()
    if args.kind == "lda":
        vectors, unit = directions.vectors, directions.spread
    else:
        vectors, unit = mean_difference_directions(gan, args.fit)
    seeds = list(range(300_000, 300_000 + args.n))
    w = gan.ws(seeds, engine.card.default_truncation)[:, None, :].repeat(1, gan.G.num_ws, 1)
    before = gan.synthesize(w, seeds)
    labels, (fb, mb) = attribute_labels(before), sface_features(before)
    print("| direction | layers | step | faces that lacked it | now show it | identity kept (SFace) |\n"
          "|---|---|---:|---:|---:|---:|")  # fmt: skip
    for name in (n for n in NAMES if n in vectors):
        v = torch.from_numpy(vectors[name] * unit[name]).float()
        lacking = ~labels[name]
        for spec in args.layers.split(","):
            layers = layer_indices(gan, spec)
            for step in (float(s) for s in args.steps.split(",")):
                moved = w.clone()
                moved[:, layers] += step * v
                after = gan.synthesize(moved, seeds)
                fa, ma = sface_features(after)
                shown = attribute_labels(after)[name][lacking].mean()
                print(f"| {name} | {spec} | {step:g} | {int(lacking.sum())} | {shown:.2f} | "
                      f"{(fb * fa).sum(1)[mb & ma].mean():.3f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
