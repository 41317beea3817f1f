"""Face alignment: five landmarks (YuNet: eyes, nose tip, mouth corners) mapped by a similarity
transform (rotation, uniform scale, shift) onto one canonical template, the mean landmarks of
CelebA-64's faces, so that FairFace's small, tilted faces and UTKFace's tight crops are framed like
the CelebA faces the models are scored against.

    portraitist data align fairface64 --out aligned/fairface64     # a pack, or any folder of photos

The output is a pack (images.zip + labels.csv, the source's labels kept) that the trainers read like
any other (`--data aligned/fairface64`). Faces YuNet does not find, and unreadable files, are listed
in `not_aligned.csv` with the reason, never dropped silently. Photos are warped from their full
resolution: a 64-px pack is aligned from its 64-px images (upscaled where its face is small).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InvalidInput
from ..files import atomic_write
from .images import ImageDecodeError, open_rgb

# Mean YuNet landmarks of 1,998 CelebA-64 train faces (of 2,000 drawn with seed 0), in 64-px pixel
# coordinates: right eye, left eye (as seen), nose tip, mouth corners. `celeba_template()` re-measures.
TEMPLATE_64 = np.array(
    [[21.81, 27.27], [42.49, 27.16], [31.70, 39.39], [23.34, 47.57], [41.14, 47.72]], np.float32
)
MIN_SCORE = 0.6  # YuNet's confidence, as the QA instruments use it


@dataclass
class AlignReport:
    aligned: int = 0
    not_aligned: list[tuple[str, str]] = field(default_factory=list)  # (file, why)


def find_faces(image: np.ndarray) -> list[tuple[float, np.ndarray, float]]:
    """YuNet's faces in an RGB image of any size, most confident first: (score, 5x2 landmarks in the
    image's pixels, box area in pixels). Small images are upscaled to 128 px (as the QA instruments
    do for 64-px faces), large ones shrunk to 640 px on the long side."""
    import cv2

    from ..quality.models import DETECT_SIZE, IN_USE, yunet

    h, w = image.shape[:2]
    scale = (DETECT_SIZE if max(h, w) < 2 * DETECT_SIZE else min(640, max(h, w))) / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    resized = cv2.resize(np.ascontiguousarray(image[:, :, ::-1]), size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)  # fmt: skip
    det = yunet()
    with IN_USE:  # the size and the detection together: the detector is shared
        det.setInputSize(size)
        try:
            _, found = det.detect(resized)
        finally:
            det.setInputSize((DETECT_SIZE, DETECT_SIZE))  # the shared detector's usual size
    faces = []
    for row in sorted(found if found is not None else [], key=lambda r: -r[-1]):
        if row[-1] >= MIN_SCORE:
            points = (row[4:14].reshape(5, 2) + 0.5) / scale - 0.5  # pixel centres back in the original
            faces.append((float(row[-1]), points.astype(np.float32), float(row[2] * row[3]) / scale**2))
    return faces


def find_landmarks(image: np.ndarray) -> tuple[float, np.ndarray] | None:
    """The most confident face: (score, 5x2 landmarks), or None."""
    faces = find_faces(image)
    return faces[0][:2] if faces else None


def align_one_face(image: np.ndarray, what: str = "the image", size: int = 64) -> np.ndarray:
    """The one face of a photo, aligned; a clear error when there is none, or several of like size
    (a face at least a quarter of the largest one's area counts; smaller ones are background)."""
    faces = find_faces(image)
    if not faces:
        raise InvalidInput(f"no face found in {what}: use a photo where one face is clearly visible")
    largest = max(area for _, _, area in faces)
    big = [f for f in faces if f[2] >= largest / 4]
    if len(big) > 1:
        raise InvalidInput(f"{len(big)} faces found in {what}: crop it to the one face you mean")
    return align_face(image, big[0][1], size)


def similarity(points: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 similarity transform (rotation, uniform scale, shift) taking `points` closest to
    `target` in least squares (Umeyama 1991): every landmark counts, none is left out as an outlier."""
    mp, mt = points.mean(0), target.mean(0)
    p, t = points - mp, target - mt
    var = (p**2).sum()
    if var < 1e-9:
        raise InvalidInput("the landmarks do not determine a similarity transform")
    u, d, vt = np.linalg.svd(t.T @ p)
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ sign @ vt
    scale = (d * np.diag(sign)).sum() / var
    return np.hstack([scale * rotation, (mt - scale * rotation @ mp)[:, None]]).astype(np.float32)


def align_face(image: np.ndarray, points: np.ndarray, size: int = 64) -> np.ndarray:
    """The face warped so its landmarks sit on the template (scaled to `size`)."""
    import cv2

    target = (TEMPLATE_64 + 0.5) * size / 64 - 0.5
    matrix = similarity(points.astype(np.float64), target.astype(np.float64))
    shrink = float(np.sqrt(abs(np.linalg.det(matrix[:, :2])))) < 1
    flags = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    return cv2.warpAffine(np.ascontiguousarray(image), matrix, (size, size), flags=flags, borderMode=cv2.BORDER_REPLICATE)  # fmt: skip


def align_source(source: str | Path, out: str | Path, size: int = 64, kind: str | None = None,
                 limit: int | None = None, progress: bool = True) -> AlignReport:  # fmt: skip
    """Align every face of a pack or dataset folder into a new pack at `out`."""
    from tqdm import tqdm

    from .sources import open_source

    if not 16 <= size <= 1024:
        raise InvalidInput(f"--size must be 16 to 1024 px, got {size}")
    src = open_source(source, kind=kind, limit=limit)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    header, rows = _label_rows(src)
    report, kept = AlignReport(), []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        for i, name in enumerate(
            tqdm(src.files, desc=f"aligning {src.name}", unit="face", disable=not progress)
        ):
            try:
                image = np.asarray(open_rgb(src.read(name)))
            except (ImageDecodeError, OSError) as e:
                report.not_aligned.append((name, f"unreadable: {e}"))
                continue
            found = find_landmarks(image)
            if found is None:
                report.not_aligned.append((name, "no face found"))
                continue
            face = align_face(image, found[1], size)
            member = str(Path(name).with_suffix(".jpg"))
            z.writestr(member, _jpeg(face))
            kept.append(rows[i] | {"file": member})
            report.aligned += 1
    if not kept:
        raise InvalidInput(f"no face found in any of the {len(src.files)} images of {source}")
    atomic_write(out / "images.zip", lambda tmp: Path(tmp).write_bytes(buffer.getvalue()))
    atomic_write(out / "labels.csv", lambda tmp: _write_csv(tmp, header, kept))
    atomic_write(out / "not_aligned.csv", lambda tmp: _write_csv(tmp, ["file", "why"], [{"file": f, "why": w} for f, w in report.not_aligned]))  # fmt: skip
    return report


def _label_rows(src) -> tuple[list[str], list[dict]]:
    """The source's own label rows where it is a pack (every column kept), else file and split."""
    if src.kind in ("celeba", "fairface", "utkface") and (src.root / "labels.csv").exists():
        with open(src.root / "labels.csv", newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            by_file = {r["file"]: r for r in reader}
            header = list(reader.fieldnames or [])
        return header, [dict(by_file[name]) for name in src.files]
    return ["file", "split"], [
        {"file": name, "split": split} for name, split in zip(src.files, src.splits, strict=True)
    ]


def _jpeg(face: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(face).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def _write_csv(path: str, header: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def celeba_template(n: int = 2000, seed: int = 0) -> np.ndarray:
    """Re-measure TEMPLATE_64: mean landmarks of n CelebA-64 train faces."""
    from . import load

    faces = load("celeba64", progress=False).filter(split="train")
    rows = np.sort(np.random.default_rng(seed).choice(faces.index, n, replace=False))
    found = [find_landmarks(img) for img in np.asarray(faces.images[rows])]
    return np.mean([p for f in found if f is not None for p in [f[1]]], axis=0)
