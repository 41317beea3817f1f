"""Memorisation: is a sample a copy of a training face?

For each sample, its nearest training image in SFace identity space (same person?) and in pixel
space (same picture?). Two rates: the share whose nearest training identity is above SFace's
calibrated same-identity threshold, and the share failing Gu et al.'s ratio test ("On Memorization
in Diffusion Models", 2023): nearest pixel distance under a third of the second nearest. Held-out
real photos run through the same test give the rate a generator should not exceed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PIXEL_SIZE = 32  # pixel-space search at 32x32: 4x cheaper, and copies survive the downscale
RATIO = 1 / 3


@dataclass
class Memorisation:
    identity_sim: np.ndarray  # nearest training identity cosine per sample (NaN: no face)
    identity_index: np.ndarray  # which training row
    pixel_dist: np.ndarray  # nearest and second-nearest RMS pixel distance (0..1), (N, 2)
    pixel_index: np.ndarray
    identity_threshold: float

    def summary(self) -> dict:
        found = np.isfinite(self.identity_sim)
        ratio_fail = self.pixel_dist[:, 0] < RATIO * self.pixel_dist[:, 1]
        return {
            "identity_match_rate": float(np.mean(self.identity_sim[found] >= self.identity_threshold))
            if found.any()
            else None,
            "identity_threshold": self.identity_threshold,
            "ratio_test_fail_rate": float(ratio_fail.mean()),
            "nearest_pixel_rms_median": float(np.median(self.pixel_dist[:, 0])),
            "nearest_identity_cosine_median": float(np.nanmedian(self.identity_sim)) if found.any() else None,
        }

    def closest_pairs(self, k: int = 8, by: str = "pixel") -> list[tuple[int, int, float]]:
        """(sample, training row, distance or similarity) for the k most copy-like samples."""
        if by == "pixel":
            order = np.argsort(self.pixel_dist[:, 0])[:k]
            return [(int(i), int(self.pixel_index[i]), float(self.pixel_dist[i, 0])) for i in order]
        sims = np.nan_to_num(self.identity_sim, nan=-1)
        order = np.argsort(-sims)[:k]
        return [(int(i), int(self.identity_index[i]), float(sims[i])) for i in order]


def small(images: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, 32*32*3) float32 in 0..1 by area averaging."""
    n, h, w, _ = images.shape
    f = h // PIXEL_SIZE
    x = np.asarray(images, dtype=np.float32).reshape(n, h // f, f, w // f, f, 3).mean(axis=(2, 4)) / 255.0
    return x.reshape(n, -1)


def nearest_two(queries: np.ndarray, pool: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """RMS distances to the two nearest pool rows, and the nearest row's index."""
    best = np.full((len(queries), 2), np.inf, np.float32)
    index = np.zeros(len(queries), np.int64)
    qq = (queries**2).sum(1)[:, None]
    for s in range(0, len(pool), chunk):
        p = pool[s : s + chunk]
        d = np.maximum(qq + (p**2).sum(1)[None, :] - 2 * queries @ p.T, 0)
        two = np.argpartition(d, 1, axis=1)[:, :2] if d.shape[1] > 1 else np.zeros((len(d), 2), np.int64)
        cand = np.take_along_axis(d, two, axis=1)
        merged = np.concatenate([best, cand], axis=1)
        merged_idx = np.concatenate([np.stack([index, index], 1), two + s], axis=1)
        order = np.argsort(merged, axis=1)[:, :2]
        index = np.take_along_axis(merged_idx, order[:, :1], axis=1)[:, 0]
        best = np.take_along_axis(merged, order, axis=1)
    return np.sqrt(best / queries.shape[1]), index


def memorisation(
    sample_pixels: np.ndarray,
    sample_identity: np.ndarray,
    sample_found: np.ndarray,
    train_pixels_small: np.ndarray,
    train_identity: np.ndarray,
    train_found: np.ndarray,
    identity_threshold: float,
) -> Memorisation:
    dist, pidx = nearest_two(small(sample_pixels), train_pixels_small)
    rows = np.flatnonzero(train_found)
    sims = sample_identity @ train_identity[rows].T if len(rows) else np.zeros((len(sample_identity), 0))
    ident = np.full(len(sample_identity), np.nan, np.float32)
    iidx = np.full(len(sample_identity), -1, np.int64)
    if sims.shape[1]:
        best = sims.argmax(1)
        ident[sample_found] = sims[np.arange(len(sims)), best][sample_found]
        iidx[sample_found] = rows[best][sample_found]
    return Memorisation(ident, iidx, dist, pidx, identity_threshold)
