"""Differentiable augmentation for GAN training on limited data (ADA, Karras et al. 2020; DiffAugment,
Zhao et al. 2020): every image the discriminator sees, real or generated, is augmented with
probability p per operation, and since the operations are differentiable the generator learns
through them. Because the generator only ever sees its images through D *after* augmentation,
"leaking" augmentations into its output is avoided as long as p stays below ~0.8.

`AdaptiveP` raises p when the discriminator grows overconfident on real images
(r_t = E[sign D(real)] above its target) and lowers it otherwise.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def augment(x: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """x-flip, integer translation (1/8 of the side), brightness, saturation, contrast and cutout,
    each applied to each image with probability p."""
    if p <= 0:
        return x
    n, device = x.shape[0], x.device

    def chance() -> torch.Tensor:
        return (torch.rand(n, 1, 1, 1, generator=generator) < p).to(device, x.dtype)

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return (torch.rand(n, 1, 1, 1, generator=generator) * (hi - lo) + lo).to(device, x.dtype)

    m = chance()
    x = m * x.flip(3) + (1 - m) * x
    # translation by whole pixels, edges replicated (a crop of a padded image: differentiable in x)
    size = x.shape[-1]
    shift = max(1, size // 8)
    pad = F.pad(x, (shift, shift, shift, shift), mode="replicate")
    moved = (
        torch.randint(-shift, shift + 1, (n, 2), generator=generator)
        * (torch.rand(n, 1, generator=generator) < p)
    ).tolist()
    x = torch.stack(
        [
            pad[i, :, shift + dy : shift + dy + size, shift + dx : shift + dx + size]
            for i, (dy, dx) in enumerate(moved)
        ]
    )
    x = x + chance() * uniform(-0.2, 0.2)  # brightness (images in [-1, 1])
    mean = x.mean(dim=1, keepdim=True)
    x = mean + (x - mean) * (1 + chance() * uniform(-0.5, 0.5))  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = mean + (x - mean) * (1 + chance() * uniform(-0.3, 0.3))  # contrast
    # cutout: a square of half the side set to 0 (mid-grey)
    m = chance()
    half = size // 2
    centre = (torch.rand(n, 2, generator=generator) * size).long()
    yy = torch.arange(size).view(1, size, 1)
    xx = torch.arange(size).view(1, 1, size)
    box = ((yy - centre[:, 0].view(n, 1, 1)).abs() < half // 2) & (
        (xx - centre[:, 1].view(n, 1, 1)).abs() < half // 2
    )
    keep = 1 - m * box.unsqueeze(1).to(device, x.dtype)
    return x * keep


class AdaptiveP:
    """ADA's controller: every `interval` steps, move p by `speed` towards keeping r_t at `target`."""

    def __init__(
        self, target: float = 0.6, interval: int = 4, speed: float = 0.01, p: float = 0.0, max_p: float = 0.8
    ) -> None:
        self.target, self.interval, self.speed, self.p, self.max_p = target, interval, speed, p, max_p
        self._signs: list[float] = []
        self.rt = 0.0

    def update(self, d_real: torch.Tensor) -> float:
        self._signs.append(float(torch.sign(d_real.detach()).mean()))
        if len(self._signs) >= self.interval:
            self.rt = sum(self._signs) / len(self._signs)
            self._signs.clear()
            step = self.speed if self.rt > self.target else -self.speed
            self.p = min(self.max_p, max(0.0, self.p + step))
        return self.p
