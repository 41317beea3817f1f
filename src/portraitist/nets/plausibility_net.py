"""A small CNN that scores how plausible a 64x64 face is as a photograph of a person: one logit,
high for malformed faces (melted or doubled features, shredded mouths). Trained from scratch by
portraitist.training.plausibility on real faces against corrupted real faces and generated faces;
used only by QA (quality/plausibility.py), never to train a generator. It is not EfficientNet-Lite0,
whose features the realism metrics are computed in."""

from __future__ import annotations

import torch
from torch import nn


def _stage(cin: int, cout: int) -> nn.Sequential:
    """Two 3x3 convolutions, the first halving the resolution."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.SiLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.SiLU(inplace=True),
    )


class PlausibilityNet(nn.Module):
    """64 -> 32 -> 16 -> 8 -> 4 px; the head reads the whole 4x4 map, where each part sits, because
    a face is malformed by how its parts relate, not by one patch."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.width = width
        w = width
        self.trunk = nn.Sequential(
            nn.Conv2d(3, w, 3, padding=1, bias=False),
            nn.BatchNorm2d(w),
            nn.SiLU(inplace=True),
            _stage(w, 2 * w),
            _stage(2 * w, 4 * w),
            _stage(4 * w, 8 * w),
            _stage(8 * w, 8 * w),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(8 * w * 16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 3, 64, 64) in [-1, 1] -> (N,) logits, > 0 = malformed."""
        return self.head(self.trunk(x)).squeeze(1)
