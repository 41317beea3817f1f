"""Reference attention: keep a face's look without an identity input (training-free, as ControlNet's
"reference-only" mode and StyleAligned do). At every step the reference face, noised to the same
level, goes through the denoiser beside the face being drawn, and each self-attention layer of the
drawn face attends to the reference's tokens as well as its own, so it can copy what it finds there.

`weight` scales how much the reference's tokens count against the face's own (a bias of log(weight)
on their attention logits): 1 treats them as equals, larger leans on the reference.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from ..errors import InvalidInput
from ..nets.layers import Attention


@contextmanager
def attending_to_reference(net: torch.nn.Module, weight: float = 1.0) -> Iterator[None]:
    """Within this block, every call of `net` takes a batch whose second half is the reference rows
    of its first half (see `referenced`)."""
    if not 0 < weight <= 100:
        raise InvalidInput(f"reference attention weight {weight} is outside (0, 100]")
    layers = [m for m in net.modules() if isinstance(m, Attention)]
    for layer in layers:
        layer.reference_bias = math.log(weight)
    try:
        yield
    finally:
        for layer in layers:
            layer.reference_bias = None


def referenced(denoiser, z0: torch.Tensor, noise: torch.Tensor, cond: torch.Tensor):
    """A denoiser D(x, sigma, text) for `guided` that runs the reference latents `z0` (N, C, H, W),
    noised by `noise` to each call's sigma under the condition `cond` (N, D), beside its batch.
    Guidance stacks its branches along the batch, so the references repeat to match."""

    def denoise(x: torch.Tensor, sigma: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        reps = len(x) // len(z0)
        ref = (z0 + sigma.reshape(-1, 1, 1, 1)[: len(z0)] * noise).repeat(reps, 1, 1, 1)
        both = denoiser(
            torch.cat([x, ref]), torch.cat([sigma, sigma]), torch.cat([text, cond.repeat(reps, 1)])
        )
        return both[: len(x)]

    return denoise
