"""How plausible each face is as a photograph of a person, from the plausibility net
(nets/plausibility_net.py, trained by `portraitist train plausibility`): the log-odds that the face
is a real photograph rather than a broken or generated one. Real held-out faces score about +5
(median); generated faces score far below 0 even when well formed, so the verdict's line is placed
by faces a person labelled (calibrate.py), and re-roll prefers higher."""

from __future__ import annotations

import io
import threading
from functools import cache

import numpy as np
from PIL import Image

from ..checkpoints import load_exported

SCORING_JPEG_QUALITY = 90  # the packs' own: real and generated faces are compared alike
_LOCK = threading.Lock()


def jpeg_roundtrip(images: np.ndarray, qualities: np.ndarray | int) -> np.ndarray:
    """(N, H, W, 3) uint8 through JPEG at each image's quality."""
    q = np.broadcast_to(np.asarray(qualities), (len(images),))
    out = np.empty_like(images)
    for i, (img, quality) in enumerate(zip(images, q, strict=True)):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=int(quality))
        out[i] = np.asarray(Image.open(buf).convert("RGB"))
    return out


@cache
def _net():
    from .. import paths
    from ..nets.plausibility_net import PlausibilityNet

    tensors, meta = load_exported(
        paths.PLAUSIBILITY_WEIGHTS, "plausibility", "plausibility weights", "plausibility"
    )
    net = PlausibilityNet(**meta["config"])
    net.load_state_dict({k: v.float() for k, v in tensors.items()})
    return net.eval()


def plausibility(images: np.ndarray, batch: int = 256) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N,) log-odds, higher = more like a real photograph."""
    import torch

    from ..data import to_tensor

    with _LOCK:
        net = _net()
    images = np.asarray(images)
    if images.shape[1:3] != (64, 64):  # the net reads a 64 px face
        images = np.stack(
            [np.asarray(Image.fromarray(im).resize((64, 64), Image.Resampling.LANCZOS)) for im in images]
        )
    out = []
    with torch.inference_mode():
        for s in range(0, len(images), batch):
            x = to_tensor(jpeg_roundtrip(np.asarray(images[s : s + batch]), SCORING_JPEG_QUALITY))
            out.append((-net(x)).numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)
