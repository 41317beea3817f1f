"""Score a set of generated faces against real ones with every instrument, and write the report.

    portraitist evaluate SAMPLES --ref celeba64 [--train celeba64] [--prompts FILE] --out DIR

SAMPLES is a folder of PNGs (prompts are read from their `portraitist` metadata when present) or
any dataset `portraitist.data.load` reads. The reference is the held-out (valid) split of a pack;
the training set is its train split. Everything computed for a real set is cached on disk.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data import FaceSet, load
from ..errors import InvalidInput
from ..quality.analysis import FaceMeasures, analyse, detect
from ..quality.checks import calibration, verdicts
from ..quality.models import DETECT_SCORE
from . import bias, metrics
from .adherence import adherence
from .features import cached, effnet_features, sface_features
from .memorisation import memorisation, small
from .predictors import Predictions, predict

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
DESCRIBE_VERSION = 3  # 2: FaceMeasures gained plausibility; 3: and the SFace embedding (plausibility net v2)


@dataclass
class ImageSet:
    name: str
    images: np.ndarray  # (N, 64, 64, 3) uint8
    prompts: list[str] = field(default_factory=list)
    negatives: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, why) of unreadable images


@dataclass
class Description:
    """Everything the instruments see in one set of faces."""

    measures: FaceMeasures
    predictions: Predictions
    effnet: np.ndarray
    identity: np.ndarray
    identity_found: np.ndarray


def load_samples(path: str | Path, size: int = 64, limit: int | None = None) -> ImageSet:
    """A folder of generated PNGs (with their prompts), or any dataset folder/pack."""
    from PIL import Image

    from ..data.images import ImageDecodeError, decode_image

    p = Path(path)
    files = sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES) if p.is_dir() else []
    is_pack = p.is_dir() and (p / "labels.csv").exists()
    if files and not is_pack:
        files = [f for f in files if not f.stem.startswith("grid")][:limit]
        images, prompts, negatives, kept, skipped = [], [], [], [], []
        for f in files:  # like `data info`: an unreadable image is skipped and named, not fatal
            try:
                images.append(decode_image(f.read_bytes(), size))
            except (ImageDecodeError, OSError) as e:
                skipped.append((str(f), str(e)))
                continue
            try:
                with Image.open(f) as img:
                    meta = json.loads(img.text.get("portraitist", "{}")) if hasattr(img, "text") else {}
            except (OSError, ValueError):
                meta = {}
            kept.append(str(f))
            prompts.append(str(meta.get("prompt", "")))
            negatives.append(str(meta.get("negative_prompt") or ""))
        if not images:
            raise InvalidInput(f"no readable image in {p} ({len(skipped)} unreadable)")
        return ImageSet(p.name, np.stack(images), prompts, negatives, kept, skipped)
    faces = load(path, size=size, limit=limit, progress=False)
    return ImageSet(
        faces.name, np.asarray(faces.images[faces.index]), files=[faces.files[i] for i in faces.index]
    )


def describe(images: np.ndarray, progress: bool = False) -> Description:
    found_faces = detect(images)  # YuNet once, shared by the three instruments that need it
    measures = analyse(images, progress=progress, detections=found_faces)
    found = found_faces[0] >= DETECT_SCORE  # the faces the measures' SFace embedding was taken of
    return Description(
        measures, predict(images, found_faces), effnet_features(images), measures.embedding, found
    )


def _pack(d: Description) -> tuple:
    m, p = d.measures, d.predictions
    arrays = [getattr(m, k) for k in m.__dataclass_fields__]
    arrays += [p.face_found, p.gender.astype(str), p.age, p.smile, p.celeba, p.race, p.age_bin]
    return (*arrays, d.effnet, d.identity, d.identity_found)


def _unpack(a: tuple) -> Description:
    names = list(FaceMeasures.__dataclass_fields__)
    m = FaceMeasures(*a[: len(names)])
    rest = a[len(names) :]
    gender = np.array(rest[1], dtype=object)
    p = Predictions(rest[0].astype(bool), gender, rest[2], rest[3], rest[4], rest[5], rest[6])
    return Description(m, p, rest[7], rest[8], rest[9].astype(bool))


def describe_real(faces: FaceSet, label: str) -> Description:
    """describe() of a real set, cached by the set's cache folder and rows."""
    key = f"describe-v{DESCRIBE_VERSION}|{faces.name}|{label}|{len(faces)}|{faces.files[faces.index[0]]}|{faces.files[faces.index[-1]]}"
    return _unpack(cached(key, lambda: _pack(describe(np.asarray(faces.images[faces.index]), progress=True))))


def reference_set(pack: str, limit: int) -> FaceSet:
    faces = load(pack, progress=False)
    held = faces.filter(split="valid")
    if len(held) == 0:
        held = faces.filter(split="test")
    if len(held) > limit:
        held = held._view(np.sort(np.random.default_rng(0).choice(held.index, limit, replace=False)), "")
    return held


def qa_summary(m: FaceMeasures) -> dict:
    """Population rates at the thresholds 95% of real faces pass one by one; the pass rate of the
    per-face verdict (95% of real faces pass it whole)."""
    v = verdicts(m, calibration()["thresholds"])
    return {
        "face_rate": float(np.mean([x.face_found for x in v])),
        "mesh_agreement_rate": float(np.mean([x.mesh_agrees for x in v])),
        "eyes_consistent_rate": float(np.mean([x.eyes_match for x in v])),
        "symmetric_rate": float(np.mean([x.symmetric for x in v])),
        "sharp_rate": float(np.mean([x.sharp for x in v])),
        "plausible_rate": float(np.mean([x.well_formed for x in v])),
        "qa_pass_rate": float(np.mean([x.passed for x in verdicts(m)])),
    }


def _k(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def metric(scores: dict, name: str) -> float:
    """The score `name` (e.g. "fd_effnet", "precision") from set_metrics, whose names end in the
    sample count (fd_effnet_1k): benches read it without knowing the count."""
    if name in scores:
        return scores[name]
    found = [k for k in scores if k.startswith(name + "_")]
    if len(found) != 1:
        raise KeyError(f"{len(found)} scores named {name}… among {sorted(scores)}: name one")
    return scores[found[0]]


def set_metrics(s: Description, r: Description, n: int, images: np.ndarray) -> dict:
    cal = calibration()
    out = {}
    tag = _k(n)
    out[f"fd_effnet_{tag}"] = metrics.frechet_distance(s.effnet, r.effnet)
    out[f"kid_effnet_{tag}"] = metrics.kid(s.effnet, r.effnet)
    p, rc = metrics.precision_recall(r.effnet, s.effnet)
    out[f"precision_effnet_{tag}"], out[f"recall_effnet_{tag}"] = p, rc
    sf, rf = s.identity[s.identity_found], r.identity[r.identity_found]
    if len(sf) >= 2 and len(rf) >= 2:
        out[f"fd_sface_{tag}"] = metrics.frechet_distance(sf, rf)
        out[f"kid_sface_{tag}"] = metrics.kid(sf, rf)
        out["identity_diversity"] = metrics.identity_diversity(sf)
        out["identity_diversity_real"] = metrics.identity_diversity(rf)
        dup = metrics.near_duplicate_pairs(sf, images[s.identity_found], cal["identity_cosine"], 0.05)
        out["near_duplicate_pairs"] = len(dup)
        out["near_duplicate_rate"] = len({i for pair in dup for i in pair}) / len(sf)
    out["mode_collapse_score"] = metrics.mode_collapse_score(s.effnet, r.effnet)
    return out


@dataclass
class EvalConfig:
    ref: str = "celeba64"  # its held-out split is the real reference
    ref_limit: int = 5000
    train: str | None = None  # its train split is searched for memorised faces
    train_limit: int | None = None
    balanced_ref: str | None = "fairface64"  # its held-out split, balanced by race, for the bias audit
    balanced_per_group: int | None = None  # None: as many as the smallest group has


def evaluate(samples: ImageSet, config: EvalConfig | None = None) -> tuple[dict, dict]:
    """Returns (results, artefacts for the report)."""
    c = config or EvalConfig()
    t0 = time.time()
    n = len(samples.images)
    if n < 10:
        raise InvalidInput(
            f"{n} samples are too few to measure a set; generate at least 10 (1,000+ for stable numbers)"
        )
    ref_faces = reference_set(c.ref, c.ref_limit)
    r = describe_real(ref_faces, "reference")
    s = describe(samples.images, progress=True)
    results: dict = {"samples": samples.name, "n": n, "reference": f"{c.ref} valid ({len(ref_faces)} faces)"}
    results["qa"] = qa_summary(s.measures)
    results["qa_reference"] = qa_summary(r.measures)
    results["set"] = set_metrics(s, r, n, samples.images)
    art: dict = {"samples": samples, "s": s, "r": r, "ref_faces": ref_faces}

    train_profile = None
    if c.train:
        tr = load(c.train, progress=False).filter(split="train")
        if c.train_limit and len(tr) > c.train_limit:
            tr = tr._view(
                np.sort(np.random.default_rng(0).choice(tr.index, c.train_limit, replace=False)), ""
            )
        key = f"train-v1|{tr.name}|{len(tr)}|{tr.files[tr.index[0]]}"
        tr_small, tr_id, tr_found = cached(key, lambda: _train_features(tr))
        mem = memorisation(samples.images, s.identity, s.identity_found, tr_small, tr_id, tr_found.astype(bool),
                           calibration()["identity_cosine"])  # fmt: skip
        held = memorisation(np.asarray(ref_faces.images[ref_faces.index]), r.identity, r.identity_found, tr_small,
                            tr_id, tr_found.astype(bool), calibration()["identity_cosine"])  # fmt: skip
        # SFace's 1:1 threshold is crossed by almost any face searched against thousands of strangers,
        # so the copy test is 1:N: closer to a training identity than 99% of held-out real faces get.
        copy_threshold = float(np.nanpercentile(held.identity_sim, 99))
        results["memorisation"] = {
            "samples": mem.summary()
            | {"identity_copy_rate": float(np.mean(mem.identity_sim > copy_threshold))},
            "held_out_real": held.summary()
            | {"identity_copy_rate": float(np.mean(held.identity_sim > copy_threshold))},
            "identity_copy_threshold": copy_threshold,
            "training_set": f"{c.train} train ({len(tr)} faces)",
        }
        art.update(memorisation=mem, train_faces=tr)
        td = describe_real(tr._view(tr.index[: min(2000, len(tr))], ""), "train-profile")
        train_profile = bias.profile(
            td.measures.ita, td.predictions.gender, td.predictions.age, td.predictions.race
        )

    if samples.prompts and any(samples.prompts):
        negs = samples.negatives or [""] * n
        results["adherence"] = adherence(samples.prompts, negs, s.predictions)

    if c.balanced_ref:
        fair = load(c.balanced_ref, progress=False).filter(split="valid")
        fair_bal = fair.balanced("race", per_group=c.balanced_per_group, seed=0)
        fb = describe_real(fair_bal, "balanced")
        by_group = {
            g: fb.effnet[np.isin(fair_bal.index, rows)] for g, rows in fair_bal.groups("race").items()
        }
        sp = bias.profile(s.measures.ita, s.predictions.gender, s.predictions.age, s.predictions.race)
        rp = bias.profile(fb.measures.ita, fb.predictions.gender, fb.predictions.age, fb.predictions.race)
        results["bias"] = bias.audit(sp, train_profile, rp)
        results["bias"]["per_group_quality"] = bias.per_group_quality(
            s.predictions.race, s.measures.face_score >= 0.6, s.effnet, by_group
        )
    results["seconds"] = round(time.time() - t0, 1)
    return results, art


def _train_features(tr: FaceSet) -> tuple:
    rows = tr.index
    parts_small, parts_id, parts_found = [], [], []
    from tqdm import tqdm

    # SFace runs one face at a time here (~18 ms, docs/benchmarks.md): say how long before it starts
    print(f"memorisation check: describing {len(rows)} training faces once (about {len(rows) * 0.025 / 60:.0f} min "
          "here; cached for every later evaluation)", flush=True)  # fmt: skip
    for s in tqdm(range(0, len(rows), 2000), desc=f"training-set features ({tr.name})", mininterval=5):
        imgs = np.asarray(tr.images[rows[s : s + 2000]])
        parts_small.append(small(imgs))
        f, found = sface_features(imgs)
        parts_id.append(f)
        parts_found.append(found)
    return np.concatenate(parts_small), np.concatenate(parts_id), np.concatenate(parts_found).astype(np.uint8)
