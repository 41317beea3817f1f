"""Classifier-free guidance where the negative prompt takes the unconditional branch's place:

    D = D(x; negative) + scale * (D(x; prompt) - D(x; negative))

With no negative prompt the negative branch is the learnt "no prompt" embedding (the condition the
model saw when training dropped captions), i.e. ordinary classifier-free guidance.

`interval=(lo, hi)` applies the guidance only at noise levels lo < sigma <= hi and follows the
prompt alone (scale 1) elsewhere, as in Kynkäänniemi et al. 2024 ("Applying guidance in a limited
interval improves sample and distribution quality"): guidance at high noise pulls every sample
towards the prompt's one typical layout (the collapse of a vague prompt onto one look), and at low
noise it only sharpens what is already decided.

With a reference face (a model with an identity input), text and identity get separate scales, as
InstructPix2Pix does for its two conditions; `unreferenced` is the negative branch without the face:

    D = D(x; negative, no face) + identity_scale * (D(x; negative, face) - D(x; negative, no face))
                                + scale * (D(x; prompt, face) - D(x; negative, face))

Equal scales reduce this to ordinary guidance of prompt and face together.

`autoguided` is autoguidance (Karras et al. 2024, "Guiding a diffusion model with a bad version of
itself"): the guiding branch is a weaker model of the same latent space with the *same* condition,
D = D_weak(x; prompt) + scale * (D(x; prompt) - D_weak(x; prompt)), which sharpens what the model
does well without pulling every sample to the prompt's one typical face.

`branched` follows one prompt's path down to a noise level and another's from there (prompt
editing, "[from:to:when]" in other tools): a seed's face for the first prompt, changed by the
second only as much as the remaining steps decide (docs/identity.md: a series from a seed).
"""

from __future__ import annotations

import torch

from ..errors import InvalidInput
from .edm import Denoiser


def guided(
    denoiser: Denoiser, cond: torch.Tensor, negative: torch.Tensor, scale: float,
    interval: tuple[float, float] | None = None, unreferenced: torch.Tensor | None = None,
    identity_scale: float | None = None,
):  # fmt: skip
    """A model(x, sigma) for the samplers. cond, negative, unreferenced: condition vectors (N, D)."""
    if scale < 0 or scale > 30:
        raise InvalidInput(f"guidance scale {scale} is outside 0..30")
    if unreferenced is not None and (identity_scale is None or not 0 <= identity_scale <= 30):
        raise InvalidInput(f"identity guidance scale {identity_scale} is outside 0..30")
    if interval is not None and not 0 <= interval[0] < interval[1]:
        raise InvalidInput(f"guidance interval {interval} must be (lo, hi) with 0 <= lo < hi")

    def model(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        outside = interval is not None and not interval[0] < float(sigma.flatten()[0]) <= interval[1]
        if unreferenced is not None and not outside:
            three = denoiser(
                torch.cat([x] * 3), torch.cat([sigma] * 3), torch.cat([cond, negative, unreferenced])
            )
            c, n, u = three.chunk(3)
            return u + identity_scale * (n - u) + scale * (c - n)
        if scale == 1.0 or outside:
            return denoiser(x, sigma, cond)
        if scale == 0.0:
            return denoiser(x, sigma, negative)
        both = denoiser(torch.cat([x, x]), torch.cat([sigma, sigma]), torch.cat([cond, negative]))
        c, n = both.chunk(2)
        return n + scale * (c - n)

    return model


def autoguided(denoiser: Denoiser, weak: Denoiser, cond: torch.Tensor, scale: float):
    """A model(x, sigma) for the samplers, guided by `weak` (same condition vectors (N, D))."""
    if scale < 0 or scale > 30:
        raise InvalidInput(f"guidance scale {scale} is outside 0..30")

    def model(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        good = denoiser(x, sigma, cond)
        if scale == 1.0:
            return good
        bad = weak(x, sigma, cond)
        return bad + scale * (good - bad)

    return model


def branched(early, late, sigmas: torch.Tensor, steps: int, strength: float):
    """A model that is `early` for the first steps - round(strength * steps) sampling steps and
    `late` after: the path of one prompt, continued under another from that noise level."""
    if not 0 <= float(strength) <= 1:
        raise InvalidInput(f"the strength must be between 0 and 1, got {strength}")
    switch = float(sigmas[steps - round(float(strength) * steps)])

    def model(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return early(x, sigma) if float(sigma.flatten()[0]) > switch else late(x, sigma)

    return model
