"""Per-face verdicts from measurements, with thresholds calibrated on held-out real photos
(`python -m portraitist.quality.calibrate`, recorded in calibration.json beside this file).

Two sets of thresholds live there. `thresholds` put each measure's line where 95% of real faces
pass it: the evaluation's population rates (eyes consistent, sharp ...) use them. A per-face
verdict combines every check, so its own `verdict_thresholds` are set jointly: a malformation score
(the plausibility net, the detector's confidence and the face's place in SFace's identity space
weighed together, `malformation`) fitted to faces a person labelled malformed, its line where it
best separates them, then the landmark checks loosened until the whole verdict passes 95% of real
faces (docs/evaluation.md)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import numpy as np

from .analysis import FaceMeasures

CALIBRATION_PATH = Path(__file__).with_name("calibration.json")


@cache
def calibration() -> dict:
    if not CALIBRATION_PATH.exists():
        raise FileNotFoundError(
            f"{CALIBRATION_PATH} is missing: run `python -m portraitist.quality.calibrate`"
        )
    return json.loads(CALIBRATION_PATH.read_text())


@dataclass(frozen=True)
class Verdict:
    face_found: bool
    mesh_agrees: bool  # MediaPipe's second opinion
    eyes_match: bool
    symmetric: bool
    sharp: bool
    well_formed: bool  # plausible as a photograph (the plausibility net)
    reasons: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def malformation(r: dict, model: dict) -> float:
    """Log-odds that a person would call this face malformed, less the line: above 0 is flagged.
    `model` (calibration.json) is a logistic regression on measures of labelled faces: the
    plausibility net's log-odds, the detector's confidence and the face's SFace embedding."""
    scalars = sum(w * r[name] for name, w in model["weights"].items())
    return float(model["bias"] + scalars + np.dot(r["embedding"], model["embedding"]))


def malformation_of(m: FaceMeasures, i: int, thresholds: dict | None = None) -> float:
    """Face i's malformation score (`malformation`): above 0 is flagged, lower is better formed."""
    t = thresholds or calibration()["verdict_thresholds"]
    return malformation(m.row(i), t["malformation"])


def verdicts(m: FaceMeasures, thresholds: dict | None = None) -> list[Verdict]:
    """One verdict per face; `thresholds` default to the per-face verdict's."""
    t = thresholds or calibration()["verdict_thresholds"]
    out = []
    for i in range(len(m)):
        r = m.row(i)
        reasons = []
        found = r["face_score"] >= t["face_score"]
        if not found:
            reasons.append(f"no face found (YuNet score {r['face_score']:.2f} < {t['face_score']})")
        mesh = r["mesh_found"] > 0
        eyes = mesh and (
            r["iris_ratio"] >= t["iris_ratio"] and r["openness_ratio"] >= t["openness_ratio"]
            and r["gaze_diff"] <= t["gaze_diff"]
        )  # fmt: skip
        if found and not mesh:
            reasons.append("no face mesh: eyes and symmetry not measurable")
        elif mesh and not eyes:
            reasons.append(
                f"eyes do not match (iris {r['iris_ratio']:.2f}, openness {r['openness_ratio']:.2f}, "
                f"gaze {r['gaze_diff']:.2f})"
            )
        symmetric = mesh and r["asymmetry"] <= t["asymmetry"]
        if mesh and not symmetric:
            reasons.append(f"asymmetric face ({r['asymmetry']:.3f} > {t['asymmetry']:.3f})")
        sharp = r["sharpness"] >= t["sharpness"]
        if not sharp:
            reasons.append(f"blurry ({r['sharpness']:.3f} < {t['sharpness']:.3f})")
        if "malformation" in t:  # the per-face verdict: a score fitted to faces a person labelled
            score = malformation(r, t["malformation"])
            well_formed = score <= 0
            why = f"score {score:+.1f} > 0: plausibility {r['plausibility']:.1f}, detector {r['face_score']:.2f}"
        else:  # the population rates: the real faces' 5th percentile of plausibility
            well_formed = r["plausibility"] >= t["plausibility"]
            why = f"plausibility {r['plausibility']:.1f} < {t['plausibility']:.1f}"
        if found and not well_formed:
            reasons.append(f"malformed face ({why})")
        out.append(Verdict(bool(found), bool(mesh), bool(eyes), bool(symmetric), bool(sharp), bool(well_formed),
                           tuple(reasons)))  # fmt: skip
    return out


def score(m: FaceMeasures, i: int, thresholds: dict | None = None) -> float:
    """How far a face is from failing, for choosing the best of several tries (higher is better)."""
    t = thresholds or calibration()["verdict_thresholds"]
    r = m.row(i)
    if r["mesh_found"] <= 0:
        return r["face_score"] - malformation(r, t["malformation"]) / 4 - 10.0
    margins = [
        r["face_score"] - t["face_score"],
        r["iris_ratio"] - t["iris_ratio"],
        r["openness_ratio"] - t["openness_ratio"],
        t["gaze_diff"] - r["gaze_diff"],
        (t["asymmetry"] - r["asymmetry"]) * 5,
        np.log((r["sharpness"] + 1e-6) / t["sharpness"]),
        -malformation(r, t["malformation"]) / 4,  # log-odds: a few units between faces
    ]
    return float(min(margins))
