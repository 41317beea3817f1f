"""Variations of a face: its starting noise (diffusion) or latent z (GAN) mixed with new seeds',
as A1111's variation seed does. Strength 0 gives the face itself, small strengths near relatives,
1 the new seeds' own faces.

Mixing is spherical (slerp): Gaussian noise lives near a sphere, and a straight line between two
draws would pass through smaller norms the model never saw in training.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between a and b (any shape, treated as vectors)."""
    af, bf = a.flatten(), b.flatten()
    cos = torch.clamp(torch.dot(af, bf) / (af.norm() * bf.norm() + 1e-12), -1.0, 1.0)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-4:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def relatives(draw: Callable[[list[int]], torch.Tensor], of: list[int], seeds: list[int], strength: float,
              ) -> torch.Tensor:  # fmt: skip
    """One variation per pair: seed `of[i]`'s draw (its noise, or a GAN's z) slerped `strength` of
    the way to seed `seeds[i]`'s. `draw(seeds)` gives one row per seed."""
    return torch.stack([slerp(a, b, float(strength)) for a, b in zip(draw(of), draw(seeds), strict=True)])
