"""Set metrics on feature arrays: Fréchet distance, KID, precision/recall, diversity, mode collapse.

Plain functions of numpy arrays, so that any feature space (EfficientNet-Lite0, SFace, Inception)
can be plugged in; the report names each result by its space and sample count (`fd_effnet_5k`).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from ..errors import InvalidInput


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2), Heusel et al. 2017."""
    if len(a) < 2 or len(b) < 2:
        raise InvalidInput("Fréchet distance needs at least two samples on each side")
    a, b = a.astype(np.float64), b.astype(np.float64)
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():  # near-singular product: regularise as pytorch-fid does
        eps = np.eye(len(s1)) * 1e-6
        covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def kid(a: np.ndarray, b: np.ndarray, subsets: int = 50, subset_size: int = 1000, seed: int = 0) -> float:
    """Kernel Inception Distance (Binkowski et al. 2018): unbiased MMD^2 with the cubic polynomial
    kernel, averaged over random subsets, in whatever feature space a and b come from."""
    rng = np.random.default_rng(seed)
    m = min(len(a), len(b), subset_size)
    if m < 2:
        raise InvalidInput("KID needs at least two samples on each side")
    d = a.shape[1]
    total = 0.0
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)].astype(np.float64)
        y = b[rng.choice(len(b), m, replace=False)].astype(np.float64)
        kxx, kyy, kxy = ((x @ x.T) / d + 1) ** 3, ((y @ y.T) / d + 1) ** 3, ((x @ y.T) / d + 1) ** 3
        total += (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()
    return float(total / subsets)


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(np.float32), b.astype(np.float32)
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.maximum(d, 0)


def _radii(x: np.ndarray, k: int, chunk: int = 2048) -> np.ndarray:
    """Distance from each point to its k-th nearest neighbour within x (itself excluded)."""
    out = np.empty(len(x), np.float32)
    for s in range(0, len(x), chunk):
        d = _sq_dists(x[s : s + chunk], x)
        out[s : s + chunk] = np.sqrt(np.partition(d, k, axis=1)[:, k])
    return out


def _covered(queries: np.ndarray, manifold: np.ndarray, radii: np.ndarray, chunk: int = 2048) -> np.ndarray:
    hit = np.zeros(len(queries), bool)
    for s in range(0, len(queries), chunk):
        d = np.sqrt(_sq_dists(queries[s : s + chunk], manifold))
        hit[s : s + chunk] = (d <= radii[None, :]).any(axis=1)
    return hit


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019): precision is the share of fakes
    inside the real manifold (union of k-NN balls), recall the share of reals inside the fake one."""
    if min(len(real), len(fake)) <= k:
        raise InvalidInput(f"precision/recall with k={k} needs more than {k} samples on each side")
    precision = _covered(fake, real, _radii(real, k)).mean()
    recall = _covered(real, fake, _radii(fake, k)).mean()
    return float(precision), float(recall)


def mean_pairwise_distance(x: np.ndarray, max_n: int = 2000, seed: int = 0) -> float:
    if len(x) > max_n:
        x = x[np.random.default_rng(seed).choice(len(x), max_n, replace=False)]
    d = np.sqrt(_sq_dists(x, x))
    return float(d[np.triu_indices(len(x), 1)].mean())


def identity_diversity(identity: np.ndarray) -> float:
    """Mean pairwise cosine distance between unit identity embeddings (0 = one person)."""
    sims = identity @ identity.T
    iu = np.triu_indices(len(identity), 1)
    return float(1 - sims[iu].mean())


def near_duplicate_pairs(identity: np.ndarray, pixels: np.ndarray, identity_threshold: float,
                         pixel_threshold: float) -> list[tuple[int, int]]:  # fmt: skip
    """Pairs of samples that are the same face twice: same identity (cosine above the calibrated
    same-identity threshold) and nearly the same pixels (RMS difference under `pixel_threshold`,
    on a 0..1 scale)."""
    sims = identity @ identity.T
    flat = pixels.reshape(len(pixels), -1).astype(np.float32) / 255.0
    rms = np.sqrt(_sq_dists(flat, flat) / flat.shape[1])
    i, j = np.where(np.triu((sims >= identity_threshold) & (rms <= pixel_threshold), 1))
    return list(zip(i.tolist(), j.tolist(), strict=True))


def mode_collapse_score(fake: np.ndarray, real: np.ndarray) -> float:
    """1 - (spread of the samples / spread of real faces) in the same feature space, clipped to
    [0, 1]: 0 = as varied as real faces, 1 = every sample identical."""
    ratio = mean_pairwise_distance(fake) / max(mean_pairwise_distance(real), 1e-9)
    return float(np.clip(1 - ratio, 0, 1))
