"""Variations: how much of the face a variation keeps, against its strength. For `--n` faces of each
shipped model, one variation per strength (a new seed mixed in); SFace cosine to the original face
(YuNet-detected, the instrument the other identity figures use), the share above OpenCV's
same-person threshold (0.363), and the pixel distance.

    python bench/variations.py [--n 40] [--out docs/eval/variations]

Writes variations.json and variations.png (the curve) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from portraitist import api
from portraitist.quality.identity import sface_features

STRENGTHS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
PROMPT = "close-up portrait photo of a person"


def faces(model: str, seeds: list[int], **kw) -> np.ndarray:
    return np.stack([np.asarray(api.generate(PROMPT, seed=s, model=model, reroll=0, **kw)[0]) for s in seeds])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--out", type=Path, default=Path("docs/eval/variations"))
    args = ap.parse_args()
    seeds = list(range(700_000, 700_000 + args.n))
    rows = []
    for model in ("face-diffusion", "face-gan"):
        base = faces(model, seeds)
        fb, mb = sface_features(base)
        for strength in STRENGTHS:
            varied = np.stack([np.asarray(api.generate(PROMPT, seed=s + 1_000_000, model=model, variation_of=s,
                                                       variation_strength=strength, reroll=0)[0]) for s in seeds])  # fmt: skip
            fv, mv = sface_features(varied)
            cos = (fb * fv).sum(1)[mb & mv]
            l2 = np.sqrt(((base / 255.0 - varied / 255.0) ** 2).mean(axis=(1, 2, 3)))
            rows.append({"model": model, "strength": strength, "identity_cosine": float(cos.mean()),
                         "same_person": float((cos >= 0.363).mean()), "pixel_l2": float(l2.mean()),
                         "faces": int(len(cos))})  # fmt: skip
            print(rows[-1], flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "variations.json").write_text(
        json.dumps({"n": args.n, "prompt": PROMPT, "rows": rows}, indent=2)
    )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for model, marker in (("face-diffusion", "o"), ("face-gan", "s")):
        pts = [(r["strength"], r["identity_cosine"]) for r in rows if r["model"] == model]
        ax.plot(*zip(*pts, strict=True), marker=marker, label=model)
    ax.axhline(0.363, color="grey", ls="--", lw=1, label="same person (OpenCV 0.363)")
    ax.set_xlabel("variation strength")
    ax.set_ylabel("SFace cosine to the original face")
    ax.set_title(f"What a variation keeps ({args.n} faces per point)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out / "variations.png", dpi=120)
    print("\n| model | strength | identity cosine | same person | pixel L2 |\n|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['model']} | {r['strength']:g} | {r['identity_cosine']:.3f} | {r['same_person']:.2f} | {r['pixel_l2']:.3f} |"
        )


if __name__ == "__main__":
    main()
