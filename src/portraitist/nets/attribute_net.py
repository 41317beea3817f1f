"""A small CNN that reads face attributes from 64x64 faces: CelebA's 40 attributes, FairFace's
race group and age bin. Trained by portraitist.training.attributes; used only to measure samples
(attribute adherence and the bias audit), never to train a generator."""

from __future__ import annotations

import torch
from torch import nn

from ..data.schema import AGE_BINS, CELEBA_ATTRIBUTES, FAIRFACE_RACES

AGE_BIN_NAMES = tuple(AGE_BINS)


def _block(cin: int, cout: int, pool: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, nn.MaxPool2d(2)) if pool else nn.Sequential(*layers)


class AttributeNet(nn.Module):
    """64 -> 32 -> 16 -> 8 -> 4 px, one 3x3 convolution per scale: ~70 MFLOPs a face, so that it
    trains on a 2-core CPU in minutes."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w = width
        self.trunk = nn.Sequential(
            _block(3, w),
            _block(w, 2 * w),
            _block(2 * w, 4 * w),
            _block(4 * w, 8 * w),
            _block(8 * w, 8 * w, pool=False),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.2)
        self.celeba = nn.Linear(8 * w, len(CELEBA_ATTRIBUTES))
        self.race = nn.Linear(8 * w, len(FAIRFACE_RACES))
        self.age = nn.Linear(8 * w, len(AGE_BIN_NAMES))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x: (N, 3, 64, 64) in [-1, 1] -> logits per head."""
        h = self.dropout(self.pool(self.trunk(x)).flatten(1))
        return {"celeba": self.celeba(h), "race": self.race(h), "age": self.age(h)}
