"""Malformed faces made from real ones, for teaching the QA's plausibility net what a broken face
looks like without a person labelling thousands of them. Each corruption imitates one failure of
face generators seen on our sheets: doubled features (ghost), melted features (warp), a feature
where none belongs (transplant) and blotchy, smeared skin (blotch).

All work on (N, 3, H, W) float tensors in [-1, 1] inside a soft region of the face's middle (where
eyes, nose and mouth are in every pack's framing), drawing from a seeded torch.Generator, or from
torch's global RNG when it is None (as in training, whose checkpoints save that RNG).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

Corruption = Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]


def _uniform(n: int, lo: float, hi: float, g: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, generator=g) * (hi - lo) + lo


def _centres(n: int, size: int, g: torch.Generator | None) -> torch.Tensor:
    """(n, 2) centres (y, x) in pixels, in the middle half of the image."""
    return _uniform(2 * n, 0.28 * size, 0.72 * size, g).view(n, 2)


def soft_region(
    n: int, size: int, g: torch.Generator | None, lo: float = 0.12, hi: float = 0.3
) -> torch.Tensor:
    """(n, 1, size, size) soft ellipses, radii lo..hi of the side, around central points."""
    c = _centres(n, size, g)
    r = _uniform(2 * n, lo * size, hi * size, g).view(n, 2)
    yy = torch.arange(size).view(1, size, 1).float()
    xx = torch.arange(size).view(1, 1, size).float()
    d = ((yy - c[:, :1, None]) / r[:, :1, None]) ** 2 + ((xx - c[:, 1:, None]) / r[:, 1:, None]) ** 2
    return torch.sigmoid((1 - d) * 6).unsqueeze(1)


def _shifted(x: torch.Tensor, g: torch.Generator | None, lo: int, hi: int) -> torch.Tensor:
    n = len(x)
    mag = torch.randint(lo, hi + 1, (n, 2), generator=g) * (torch.randint(0, 2, (n, 2), generator=g) * 2 - 1)
    return torch.stack(
        [xi.roll((int(dy), int(dx)), (1, 2)) for xi, (dy, dx) in zip(x, mag.tolist(), strict=True)]
    )


def ghost(x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
    """A shifted copy blended in: doubled eyes, two mouths."""
    n, size = len(x), x.shape[-1]
    alpha = _uniform(n, 0.35, 0.65, g).view(n, 1, 1, 1) * soft_region(n, size, g, 0.15, 0.35)
    return x * (1 - alpha) + _shifted(x, g, size // 20, size // 6) * alpha


def warp(x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
    """A smooth random displacement of 2-6 % of the side: melted, sliding features."""
    n, size = len(x), x.shape[-1]
    field = torch.randn(n, 2, 4, 4, generator=g)
    field = F.interpolate(field, size=(size, size), mode="bicubic", align_corners=False)
    amp = _uniform(n, 0.04, 0.12, g).view(n, 1, 1, 1)  # in grid units (2 = the whole side)
    field = field * amp * soft_region(n, size, g, 0.2, 0.4)
    lin = torch.linspace(-1, 1, size)
    base = torch.stack(torch.meshgrid(lin, lin, indexing="xy"), -1).expand(n, size, size, 2)
    return F.grid_sample(x, base + field.permute(0, 2, 3, 1), padding_mode="border", align_corners=True)


def transplant(x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
    """A feathered patch of another face, or of another part of this one (an eye where the mouth
    belongs), pasted into the middle."""
    n, size = len(x), x.shape[-1]
    other = (torch.rand(n, generator=g) < 0.5).view(n, 1, 1, 1).float()
    donor = other * _shifted(x[torch.randperm(n, generator=g)], g, 0, size // 5)
    donor = donor + (1 - other) * _shifted(x, g, size // 6, size // 3)
    mask = soft_region(n, size, g, 0.08, 0.2)
    return x * (1 - mask) + donor * mask


def blotch(x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
    """Low-frequency colour blotches over a smeared (blurred) region: mottled, waxy skin."""
    n, size = len(x), x.shape[-1]
    noise = torch.randn(n, 1, 6, 6, generator=g) + 0.3 * torch.randn(n, 3, 6, 6, generator=g)
    noise = F.interpolate(noise, size=(size, size), mode="bicubic")
    blurred = F.avg_pool2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), 5, stride=1)
    mask = soft_region(n, size, g, 0.2, 0.4)
    amp = _uniform(n, 0.15, 0.4, g).view(n, 1, 1, 1)
    return (x * (1 - mask) + (blurred + amp * noise) * mask).clamp(-1, 1)


CORRUPTIONS: dict[str, Corruption] = {
    "ghost": ghost,
    "warp": warp,
    "transplant": transplant,
    "blotch": blotch,
}


def corrupt(x: torch.Tensor, g: torch.Generator | None = None, max_kinds: int = 2) -> torch.Tensor:
    """Each image gets 1..max_kinds corruptions, chosen at random."""
    names = list(CORRUPTIONS)
    out = x
    for k in range(max_kinds):
        pick = torch.randint(0, len(names), (len(x),), generator=g)
        if k > 0:  # later rounds apply to about half the images
            pick[torch.rand(len(x), generator=g) < 0.5] = -1
        done = out.clone()
        for j, name in enumerate(names):
            rows = (pick == j).nonzero().flatten()
            if len(rows):
                done[rows] = CORRUPTIONS[name](out[rows], g)
        out = done
    return out
