"""Real Inception FID, for users who supply the Inception weights themselves.

portraitist ships no Inception weights and downloads nothing. With the TorchScript file that
clean-fid and StyleGAN2-ADA use (`inception-2015-12-05.pt`, NVIDIA's port of the TensorFlow
FID Inception), this computes FID the way clean-fid's "clean" mode does, so the numbers are
comparable with published clean-fid figures:

1. each uint8 image is resized to 299x299 channel by channel in float32 with PIL's bicubic filter
   (clean-fid's "clean" resizer), values kept in 0..255;
2. the network is called as `model(x, return_features=True)` on float32 NCHW input, giving 2048-d
   pool features;
3. FID is the Fréchet distance of those features (float64 mean and covariance, scipy's sqrtm).

    portraitist-style:  fid = inception_fid(samples, real, "/path/to/inception-2015-12-05.pt")

Only load a weights file you trust: a TorchScript file carries code.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InvalidInput
from .metrics import frechet_distance

INCEPTION_SIZE = 299


def clean_resize(images: np.ndarray, size: int = INCEPTION_SIZE) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, 3, size, size) float32 in 0..255, resized per channel in float."""
    out = np.empty((len(images), 3, size, size), np.float32)
    for i, img in enumerate(images):
        for c in range(3):
            ch = Image.fromarray(np.asarray(img[:, :, c], dtype=np.float32), mode="F")
            out[i, c] = np.asarray(
                ch.resize((size, size), resample=Image.Resampling.BICUBIC), dtype=np.float32
            )
    return np.clip(out, 0, 255)


def load_inception(path: str | os.PathLike):
    import torch

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"no Inception weights at {path}. portraitist does not download them: fetch "
            "inception-2015-12-05.pt (the file clean-fid and StyleGAN2-ADA use) yourself and pass its path"
        )
    try:
        return torch.jit.load(str(path), map_location="cpu").eval()
    except RuntimeError as e:
        raise InvalidInput(f"{path} is not a TorchScript Inception file: {e}") from e


def inception_features(images: np.ndarray, model, batch: int = 32) -> np.ndarray:
    import torch

    feats = []
    with torch.inference_mode():
        for s in range(0, len(images), batch):
            x = torch.from_numpy(clean_resize(np.asarray(images[s : s + batch])))
            f = model(x, return_features=True)
            feats.append(f.reshape(len(x), -1).double().numpy())
    return np.concatenate(feats)


def inception_fid(samples: np.ndarray, real: np.ndarray, weights: str | os.PathLike) -> float:
    model = load_inception(weights)
    return frechet_distance(inception_features(samples, model), inception_features(real, model))
