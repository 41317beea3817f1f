"""Variations of a face: its starting noise (diffusion) or latent z (GAN) mixed with new seeds',
as A1111's variation seed does. Strength 0 gives the face itself, small strengths near relatives,
1 the new seeds' own faces.

Mixing is spherical (slerp): Gaussian noise lives near a sphere, and a straight line between two
draws would pass through smaller norms the model never saw in training.
"""

from __future__ import annotations

import torch


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between a and b (any shape, treated as vectors)."""
    af, bf = a.flatten(), b.flatten()
    cos = torch.clamp(torch.dot(af, bf) / (af.norm() * bf.norm() + 1e-12), -1.0, 1.0)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-4:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def mixed(base: torch.Tensor, others: torch.Tensor, strength: float) -> torch.Tensor:
    """One variation of `base` (a single noise or z) per row of `others`, `strength` of the way."""
    return torch.stack([slerp(base, other, float(strength)) for other in others])
