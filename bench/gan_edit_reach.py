"""How far must a GAN direction go to change what it names, and what does that cost the person?
For each supervised direction, faces that lack the attribute (as the directions' own labeller sees
it) are moved 2, 4, 6 and 8 standard deviations of W along it: the share that then shows it, and
the SFace cosine to the face before (YuNet-detected). This is what a calibration of the edit
strengths (issue: GAN edits at strength 2 change the attribute in >= 70% of faces, identity >= 0.6)
would have to work with.

    python bench/gan_edit_reach.py [--n 160]
"""

from __future__ import annotations

import argparse

import torch

from portraitist.engines.embedded import FACE_GAN, FaceGANEngine
from portraitist.latent.gan_directions import attribute_labels
from portraitist.quality.identity import sface_features


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=160)
    ap.add_argument("--steps", default="2,4,6,8", help="standard deviations of W")
    args = ap.parse_args()
    gan, directions = FaceGANEngine().load()
    seeds = list(range(300_000, 300_000 + args.n))
    w = gan.ws(seeds, FACE_GAN.default_truncation)
    before = gan.synthesize(w, seeds)
    labels, (fb, mb) = attribute_labels(before), sface_features(before)
    print(
        "| direction | SD of W | faces that lacked it | now show it | identity kept (SFace) |\n|---|---:|---:|---:|---:|"
    )
    for name in ("age", "smile", "glasses", "blond", "gender"):
        v = torch.from_numpy(directions.vectors[name]).float() * directions.spread[name]
        lacking = ~labels[name]
        for sd in (float(s) for s in args.steps.split(",")):
            after = gan.synthesize(w + sd * v, seeds)
            fa, ma = sface_features(after)
            shown = attribute_labels(after)[name][lacking].mean()
            print(f"| {name} | {sd:g} | {int(lacking.sum())} | {shown:.2f} | {(fb * fa).sum(1)[mb & ma].mean():.3f} |",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
