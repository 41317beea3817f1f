"""Calibrate the per-face thresholds (and SFace's same-identity threshold) on held-out real photos.

    python -m portraitist.quality.calibrate [--per-pack 1000]

Thresholds are percentiles of the real distribution over the valid splits of the three packs:
sharpness at the 5th percentile, asymmetry at the 95th, and the three eye measures at a common
percentile chosen so that 95% of real faces pass all three together. The identity threshold is the
SFace cosine that 0.1% of different-identity CelebA valid pairs exceed. Writes calibration.json.
"""

from __future__ import annotations

import argparse
import datetime
import json

import numpy as np

from ..data import load
from .analysis import analyse
from .checks import CALIBRATION_PATH

EYE_PASS_RATE = 0.95


def eye_thresholds(iris: np.ndarray, openness: np.ndarray, gaze: np.ndarray) -> tuple[dict, float]:
    lo, hi = 0.0, 5.0  # the common lower-tail percentile, found by bisection
    for _ in range(40):
        q = (lo + hi) / 2
        t = {
            "iris_ratio": float(np.percentile(iris, q)),
            "openness_ratio": float(np.percentile(openness, q)),
            "gaze_diff": float(np.percentile(gaze, 100 - q)),
        }
        rate = np.mean(
            (iris >= t["iris_ratio"]) & (openness >= t["openness_ratio"]) & (gaze <= t["gaze_diff"])
        )
        lo, hi = (q, hi) if rate > EYE_PASS_RATE else (lo, q)
    return t, float(rate)


def identity_threshold(limit: int) -> dict:
    from .identity import sface_features

    faces = load("celeba64", progress=False).filter(split="valid")
    rows = faces.index[:limit]
    feats, found = sface_features(np.asarray(faces.images[rows]))
    ids = np.array([faces.identities[r] for r in rows])[found]
    feats = feats[found]
    sims = feats @ feats.T
    iu = np.triu_indices(len(feats), 1)
    same = ids[iu[0]] == ids[iu[1]]
    diff_sims, same_sims = sims[iu][~same], sims[iu][same]
    threshold = float(np.percentile(diff_sims, 99.9))
    return {
        "identity_cosine": threshold,
        "identity_false_match_rate": 0.001,
        "identity_true_match_rate": float(np.mean(same_sims >= threshold)),
        "identity_pairs": {"same": int(same.sum()), "different": int((~same).sum())},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--per-pack", type=int, default=1000)
    args = ap.parse_args()
    images = []
    for pack in ("celeba64", "fairface64", "utkface64"):
        faces = load(pack, progress=False).filter(split="valid")
        rows = np.random.default_rng(0).choice(
            faces.index, size=min(args.per_pack, len(faces)), replace=False
        )
        images.append(np.asarray(faces.images[np.sort(rows)]))
    m = analyse(np.concatenate(images), progress=True)
    ok = m.mesh_found > 0
    eyes, eye_rate = eye_thresholds(m.iris_ratio[ok], m.openness_ratio[ok], m.gaze_diff[ok])
    thresholds = {
        "face_score": 0.6,
        **eyes,
        "asymmetry": float(np.percentile(m.asymmetry[ok], 95)),
        "sharpness": float(np.percentile(m.sharpness, 5)),
    }
    result = {
        "thresholds": thresholds,
        **identity_threshold(args.per_pack * 3),
        "measured_on": {
            "images": len(m),
            "sources": "valid splits of celeba64, fairface64, utkface64 (seeded sample)",
            "face_rate": float(np.mean(m.face_score >= 0.6)),
            "mesh_rate": float(ok.mean()),
            "eyes_pass_rate": eye_rate,
            "date": datetime.date.today().isoformat(),
            "command": f"python -m portraitist.quality.calibrate --per-pack {args.per_pack}",
        },
    }
    CALIBRATION_PATH.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
