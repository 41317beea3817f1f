"""Feature spaces the set metrics are computed in, with an on-disk cache for reference sets.

- EfficientNet-Lite0 ImageNet features (1280-d, pooled), faces upscaled to 160 px: realism metrics.
  Not Inception: a Fréchet distance here is `fd_effnet`, never "FID".
- SFace identity embeddings (128-d, unit length), after YuNet alignment: identity metrics.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache

import numpy as np

from ..paths import cache_dir
from ..quality import models
from ..quality.analysis import detect

EFFNET_SIZE = 160  # 16 ms a face here, against 44 ms at 224 (bench/bench_evaluate.py); 5k faces in 80 s


@cache
def _effnet():
    from ..nets.efficientnet_lite import load_pretrained

    return load_pretrained()


def effnet_features(images: np.ndarray, batch: int = 100) -> np.ndarray:
    import torch
    from torch.nn import functional as F

    from ..data import to_tensor

    net, out = _effnet(), []
    with torch.inference_mode():
        for s in range(0, len(images), batch):
            x = to_tensor(np.asarray(images[s : s + batch]))
            x = F.interpolate(x, size=EFFNET_SIZE, mode="bilinear", align_corners=False, antialias=False)
            out.append(net.features(x).numpy())
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 1280), np.float32)


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


def cached(key: str, compute: Callable[[], np.ndarray | tuple]) -> np.ndarray | tuple:
    """Compute once, then read from $PORTRAITIST_CACHE/features (written atomically)."""
    folder = cache_dir() / "features"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (hashlib.sha1(key.encode()).hexdigest()[:16] + ".npz")
    if path.exists():
        try:
            with np.load(path) as z:
                arrays = [z[f"a{i}"] for i in range(len(z.files))]
            return arrays[0] if len(arrays) == 1 else tuple(arrays)
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)  # damaged: recompute
    value = compute()
    arrays = value if isinstance(value, tuple) else (value,)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **{f"a{i}": a for i, a in enumerate(arrays)})
    tmp.replace(path)
    return value
