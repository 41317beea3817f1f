"""Classifier-free guidance where the negative prompt takes the unconditional branch's place:

    D = D(x; negative) + scale * (D(x; prompt) - D(x; negative))

With no negative prompt the negative branch is the learnt "no prompt" embedding (the condition the
model saw when training dropped captions), i.e. ordinary classifier-free guidance.
"""

from __future__ import annotations

import torch

from .edm import Denoiser


def guided(denoiser: Denoiser, cond: torch.Tensor, negative: torch.Tensor, scale: float):
    """A model(x, sigma) for the samplers. cond, negative: (N, 384) embeddings."""
    if scale < 0 or scale > 30:
        raise ValueError(f"guidance scale {scale} is outside 0..30")

    def model(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        if scale == 1.0:
            return denoiser(x, sigma, cond)
        if scale == 0.0:
            return denoiser(x, sigma, negative)
        both = denoiser(torch.cat([x, x]), torch.cat([sigma, sigma]), torch.cat([cond, negative]))
        c, n = both.chunk(2)
        return n + scale * (c - n)

    return model
