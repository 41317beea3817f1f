"""The distribution of the pixel lighting measures on each pack, and the share of faces each
threshold in portraitist/data/pixel_attributes.py puts into each class.

    python bench/calibrate_lighting.py

The thresholds were chosen from the CelebA train rows of this table; the latest output is in docs/data.md.
"""

from collections import Counter

import numpy as np

from portraitist.data import load
from portraitist.data.pixel_attributes import MEASURES, classify, measure


def main() -> None:
    print("| pack | measure | p5 | p20 | p50 | p80 | p95 |\n|---|---|---:|---:|---:|---:|---:|")
    shares = {}
    for pack in ("celeba64", "fairface64", "utkface64"):
        faces = load(pack, progress=False).filter(split="train")
        rows = faces.index
        m = np.concatenate([measure(faces.images[rows[s : s + 4096]]) for s in range(0, len(rows), 4096)])
        for i, name in enumerate(MEASURES):
            p = np.percentile(m[:, i], [5, 20, 50, 80, 95])
            print(f"| {pack} | {name} | " + " | ".join(f"{v:.3f}" for v in p) + " |")
        lit = [classify(r) for r in m]
        shares[pack] = {
            "light": Counter(x.light for x in lit),
            "temperature": Counter(x.temperature for x in lit),
            "key": Counter(x.key for x in lit),
            "monochrome": Counter(x.monochrome for x in lit),
        }
    print("\n| pack | class | share |\n|---|---|---:|")
    for pack, attrs in shares.items():
        for attr, counts in attrs.items():
            total = sum(counts.values())
            text = ", ".join(f"{k} {100 * v / total:.1f}%" for k, v in sorted(counts.items(), key=str))
            print(f"| {pack} | {attr} | {text} |")


if __name__ == "__main__":
    main()
