"""Feature spaces the set metrics are computed in, with an on-disk cache for reference sets.

- EfficientNet-Lite0 ImageNet features (1280-d, pooled), faces upscaled to 160 px: realism metrics.
  Not Inception: a Fréchet distance here is `fd_effnet`, never "FID".
- SFace identity embeddings (128-d, unit length), after YuNet alignment: identity metrics
  (quality/identity.py, which generation-time checks use too).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache

import numpy as np

from ..paths import cache_dir
from ..quality.identity import sface_features  # noqa: F401  (the identity feature space)

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
