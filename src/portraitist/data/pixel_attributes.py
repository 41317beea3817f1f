"""Lighting attributes measured from pixels, so that every image (whatever its dataset labels) can
be captioned and later prompted by light direction, colour temperature, key and black-and-white.

All measures read the central face region of an aligned square crop. Thresholds were set from the
distribution over the CelebA-64 pack's train partition (docs/data.md, `bench/calibrate_lighting.py`):
roughly the outer tenth to fifth on each side of a measure earns a word, the middle stays unremarked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInput

# Calibrated thresholds (see module docstring).
LIGHT_SIDE = 0.5  # |normalised left-right luminance slope| beyond which light comes from a side
WARM, COOL = 0.65, 0.30  # (R - B) / luminance of the face region
LOW_KEY, HIGH_KEY = 0.30, 0.62  # mean luminance of the whole frame, 0..1
MONOCHROME = 0.03  # mean chroma (max - min channel) / 255 below which the image has no colour

MEASURES = ("light_slope", "warmth", "brightness", "chroma")


def face_mask(size: int) -> np.ndarray:
    """An ellipse over the middle of an aligned face crop: cheeks, eyes, nose, mouth; little background."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    cy, cx = size * 0.55, size * 0.5
    return ((xx - cx) / (size * 0.30)) ** 2 + ((yy - cy) / (size * 0.36)) ** 2 <= 1.0


def measure(images: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, 4) float32 columns MEASURES.

    light_slope: the left-to-right luminance slope across the face (least squares over the mask),
    times the face width, over mean face luminance; negative = brighter on the image's left side,
    i.e. light from camera left. Mirroring the image negates it.
    """
    if images.ndim != 4 or images.shape[-1] != 3:
        raise InvalidInput(f"expected (N, H, W, 3) images, got shape {images.shape}")
    n, h, w, _ = images.shape
    mask = (face_mask(h) if h == w else np.ones((h, w), bool)).ravel().astype(np.float32)
    cols = (np.arange(w, dtype=np.float32) + 0.5 - w / 2) / w  # -0.5 .. 0.5 across the frame
    xs = np.broadcast_to(cols, (h, w)).ravel()
    xs = (xs - (xs * mask).sum() / mask.sum()) * mask
    # Every measure is a weighted sum over pixels: one matrix product each, no masked copies.
    flat = images.reshape(n, h * w, 3).astype(np.float32) / 255.0
    rgb_face = np.tensordot(flat, mask / mask.sum(), axes=([1], [0]))  # (N, 3)
    lum_weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    mean_face = rgb_face @ lum_weights + 1e-3
    lum = flat @ lum_weights  # (N, H*W)
    face_width = 0.6  # the mask spans 60% of the frame
    light_slope = (lum @ xs) / (xs**2).sum() * face_width / mean_face
    warmth = (rgb_face[:, 0] - rgb_face[:, 2]) / mean_face
    brightness = lum.mean(axis=1)
    r, g, b = flat[..., 0], flat[..., 1], flat[..., 2]  # (a max over an axis of 3 is slow in numpy)
    chroma = (np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)).mean(axis=1)
    return np.stack([light_slope, warmth, brightness, chroma], axis=1).astype(np.float32)


@dataclass(frozen=True)
class Lighting:
    light: str
    temperature: str
    key: str
    monochrome: bool


def classify(m: np.ndarray) -> Lighting:
    """One row of `measure` into words."""
    slope, warmth, brightness, chroma = (float(v) for v in m)
    mono = chroma < MONOCHROME
    light = "left" if slope < -LIGHT_SIDE else "right" if slope > LIGHT_SIDE else "frontal"
    temperature = "neutral" if mono else "warm" if warmth > WARM else "cool" if warmth < COOL else "neutral"
    key = "low" if brightness < LOW_KEY else "high" if brightness > HIGH_KEY else "normal"
    return Lighting(light, temperature, key, mono)
