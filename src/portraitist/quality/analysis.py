"""Per-face measurements: is there a face, do the eyes match, is the face symmetric, is it sharp,
is it plausible as a photograph (the plausibility net: sees melted and doubled features that the
landmark measures miss), and where it lies in SFace's identity space (malformed faces of both
labelled models gather apart there from well-formed ones: the verdict's malformation score reads it).

Everything is measured, not judged: `analyse` returns numbers (NaN where a measure needs a face
mesh that was not found); `checks.py` compares them with thresholds calibrated on real photos.

Eye and symmetry measures use the MediaPipe face mesh with iris (478 points) on the face upscaled
to 256 px; face presence uses YuNet on the face upscaled to 128 px.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ..errors import InvalidInput
from . import models
from .plausibility import plausibility

MESH_SIZE = 256
MESH_BORDER = 0.1  # the retry's border, a fraction of the image (mesh_points)

# MediaPipe face-mesh indices. "a" is the eye on the image's left (the subject's right).
EYE_A = {
    "outer": 33,
    "inner": 133,
    "upper": 159,
    "lower": 145,
    "iris": 468,
    "iris_top": 470,
    "iris_bottom": 472,
}
EYE_B = {
    "outer": 263,
    "inner": 362,
    "upper": 386,
    "lower": 374,
    "iris": 473,
    "iris_top": 475,
    "iris_bottom": 477,
}
# Mirror pairs (subject's right, subject's left) spread over brows, eyes, nose, mouth, cheeks, jaw.
MIRROR_PAIRS = ((33, 263), (133, 362), (159, 386), (145, 374), (70, 300), (105, 334), (107, 336), (61, 291),
                (40, 270), (91, 321), (234, 454), (93, 323), (132, 361), (58, 288), (172, 397), (136, 365),
                (150, 379), (149, 378), (50, 280), (205, 425), (129, 358), (98, 327), (116, 345), (123, 352))  # fmt: skip
CHEEKS = (50, 280)
MOUTH = {"upper": 13, "lower": 14, "left": 61, "right": 291}


@dataclass
class FaceMeasures:
    """One row per image; NaN = not measurable (no face / no mesh)."""

    face_score: np.ndarray  # YuNet's best score, 0 when nothing is found
    mesh_found: np.ndarray  # MediaPipe's second opinion, 0/1
    iris_ratio: np.ndarray  # smaller / larger vertical iris diameter, 1 = equal
    openness_ratio: np.ndarray  # smaller / larger lid gap, 1 = equal
    gaze_diff: np.ndarray  # |difference| of the irises' positions between their eye corners, 0 = same gaze
    asymmetry: np.ndarray  # mean 3-D mirror residual of paired landmarks / interocular distance
    sharpness: np.ndarray  # variance of the Laplacian of the grey 64 px image / its variance
    mouth_open: np.ndarray  # inner-lip gap / mouth width
    ita: np.ndarray  # individual typology angle (skin tone, degrees) from both cheeks
    plausibility: np.ndarray  # log-odds of a real photograph (quality/plausibility.py)
    embedding: np.ndarray  # (N, 128) SFace identity embedding, unit length; zeros where no face was found

    def __len__(self) -> int:
        return len(self.face_score)

    def row(self, i: int) -> dict:
        """One face's measures: numbers, and its embedding as an array."""
        values = {f.name: getattr(self, f.name)[i] for f in fields(self)}
        return {name: v if np.ndim(v) else float(v) for name, v in values.items()}

    def subset(self, rows: slice | np.ndarray) -> FaceMeasures:
        return FaceMeasures(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})


def detect(images: np.ndarray) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """YuNet on each face upscaled to 128 px: best score (0 if none) and its 15-number row
    (box x, y, w, h, five landmarks, score) in 128 px coordinates."""
    import cv2

    det = models.yunet()
    scores, rows = np.zeros(len(images), np.float32), []
    for i, img in enumerate(images):
        big = cv2.resize(
            np.ascontiguousarray(img[:, :, ::-1]), (models.DETECT_SIZE,) * 2, interpolation=cv2.INTER_CUBIC
        )
        with models.IN_USE:
            _, found = det.detect(big)
        if found is None or len(found) == 0:
            rows.append(None)
            continue
        best = found[int(np.argmax(found[:, -1]))]
        scores[i] = best[-1]
        rows.append(best)
    return scores, rows


def _sharpness(img: np.ndarray) -> float:
    import cv2

    grey = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var() / (grey.var() + 1.0))


def _ita(img: np.ndarray, points: np.ndarray) -> float:
    """ITA° = atan((L* - 50) / b*) in degrees, over 5x5 patches at the cheek landmarks (64 px image)."""
    import cv2

    lab = cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    h, w = img.shape[:2]
    values = []
    for x, y in points:
        xi, yi = int(round(x)), int(round(y))
        patch = lab[max(yi - 2, 0) : min(yi + 3, h), max(xi - 2, 0) : min(xi + 3, w)]
        if patch.size:
            values.append(patch.reshape(-1, 3).mean(axis=0))
    if not values:
        return float("nan")
    lightness, _, b = np.mean(values, axis=0)
    return float(np.degrees(np.arctan2(lightness - 50.0, b)))


def _mesh_measures(pts: np.ndarray) -> tuple[float, float, float, float, float]:
    """From 478 mesh points (pixels; z in the same scale) to the eye, symmetry and mouth measures."""
    p2 = pts[:, :2]
    a_iris = np.linalg.norm(p2[EYE_A["iris_top"]] - p2[EYE_A["iris_bottom"]])
    b_iris = np.linalg.norm(p2[EYE_B["iris_top"]] - p2[EYE_B["iris_bottom"]])
    iris_ratio = min(a_iris, b_iris) / max(a_iris, b_iris, 1e-6)
    a_open = np.linalg.norm(p2[EYE_A["upper"]] - p2[EYE_A["lower"]])
    b_open = np.linalg.norm(p2[EYE_B["upper"]] - p2[EYE_B["lower"]])
    openness_ratio = min(a_open, b_open) / max(a_open, b_open, 1e-6)

    def position(eye: dict[str, int]) -> float:  # iris x between the eye's image-left and image-right corners
        left, right = sorted((p2[eye["outer"], 0], p2[eye["inner"], 0]))
        return (p2[eye["iris"], 0] - left) / max(right - left, 1e-6)

    gaze_diff = abs(position(EYE_A) - position(EYE_B))
    # Mirror plane from the pairs: its normal is the mean right-to-left vector, it passes through the midpoints.
    right, left = pts[[p for p, _ in MIRROR_PAIRS]], pts[[q for _, q in MIRROR_PAIRS]]
    normal = (left - right).mean(axis=0)
    normal /= np.linalg.norm(normal) + 1e-9
    centre = ((left + right) / 2).mean(axis=0)
    reflected = right - 2 * ((right - centre) @ normal)[:, None] * normal
    interocular = np.linalg.norm(pts[EYE_A["iris"]] - pts[EYE_B["iris"]]) + 1e-6
    asymmetry = float(np.linalg.norm(reflected - left, axis=1).mean() / interocular)
    mouth_w = np.linalg.norm(p2[MOUTH["left"]] - p2[MOUTH["right"]]) + 1e-6
    mouth_open = np.linalg.norm(p2[MOUTH["upper"]] - p2[MOUTH["lower"]]) / mouth_w
    return float(iris_ratio), float(openness_ratio), float(gaze_diff), asymmetry, float(mouth_open)


def mesh_points(img: np.ndarray, borders: tuple[float, ...] = (0.0, MESH_BORDER)) -> np.ndarray | None:
    """478 x 3 face-mesh points in pixels of the 64 px image (z scaled like x), or None.

    MediaPipe's own face detector misses faces that touch the frame's edges (tight crops, faces
    turned away: 80 of 3,000 real held-out photos, nearly all FairFace), so where the plain image
    finds no mesh it is tried once more inside a black border of MESH_BORDER of its size (46 of
    those 80 then find one; docs/evaluation.md "Session 15"): each of `borders` in turn, a
    fraction of the image. Faces found the first time keep exactly the measures they had."""
    import cv2

    size = img.shape[0]
    for border in (round(size * b) for b in borders):
        framed = cv2.copyMakeBorder(np.ascontiguousarray(img), *(border,) * 4, cv2.BORDER_CONSTANT, value=0)
        big = cv2.resize(framed, (MESH_SIZE, MESH_SIZE), interpolation=cv2.INTER_CUBIC)
        with models.IN_USE:
            result = models.face_mesh().process(big)
        if result.multi_face_landmarks:
            scale = size + 2 * border  # the mesh's coordinates are fractions of the framed image
            lm = result.multi_face_landmarks[0].landmark
            return np.array(
                [(p.x * scale - border, p.y * scale - border, p.z * scale) for p in lm], dtype=np.float64
            )
    return None


Detections = tuple[np.ndarray, list]


def analyse(images: np.ndarray, progress: bool = False, detections: Detections | None = None) -> FaceMeasures:
    """Measure every (N, H, W, 3) uint8 face (`detections`: detect(images), when already run)."""
    from tqdm import tqdm

    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise InvalidInput(f"expected (N, H, W, 3) uint8 images, got {images.shape} {images.dtype}")
    from .identity import sface_features

    n = len(images)
    detections = detections or detect(images)
    out = {f.name: np.full(n, np.nan, np.float32) for f in fields(FaceMeasures)}
    out["face_score"] = detections[0]
    out["plausibility"] = plausibility(images)
    out["embedding"] = sface_features(images, detections)[0]
    out["mesh_found"] = np.zeros(n, np.float32)
    for i in tqdm(range(n), desc="face mesh", disable=not progress or n < 500, mininterval=2.0):
        img = np.asarray(images[i])
        out["sharpness"][i] = _sharpness(img)
        pts = mesh_points(img)
        if pts is None:
            continue
        out["mesh_found"][i] = 1.0
        (out["iris_ratio"][i], out["openness_ratio"][i], out["gaze_diff"][i], out["asymmetry"][i],
         out["mouth_open"][i]) = _mesh_measures(pts)  # fmt: skip
        out["ita"][i] = _ita(img, pts[list(CHEEKS), :2])
    return FaceMeasures(**out)
