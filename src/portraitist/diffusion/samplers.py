"""Samplers as interchangeable plain functions (k-diffusion's convention):

    sample_x(model, x, sigmas, callback=None) -> x0

`model(x, sigma)` is a denoiser returning the clean estimate (guidance already folded in, see
guidance.py); `x` starts as noise scaled by sigmas[0]; `callback(i, x, denoised)` sees every step
(progress bars, live previews). All are deterministic given x, except DDIM with eta > 0, which
takes a torch.Generator.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Model = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Callback = Callable[[int, torch.Tensor, torch.Tensor], None] | None


def _d(x: torch.Tensor, sigma: torch.Tensor, denoised: torch.Tensor) -> torch.Tensor:
    """dx/dsigma of the probability-flow ODE."""
    return (x - denoised) / sigma


def _sig(s: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return s.expand(len(x))


@torch.no_grad()
def sample_euler(
    model: Model, x: torch.Tensor, sigmas: torch.Tensor, callback: Callback = None
) -> torch.Tensor:
    for i in range(len(sigmas) - 1):
        denoised = model(x, _sig(sigmas[i], x))
        if callback:
            callback(i, x, denoised)
        x = x + _d(x, sigmas[i], denoised) * (sigmas[i + 1] - sigmas[i])
    return x


@torch.no_grad()
def sample_heun(
    model: Model, x: torch.Tensor, sigmas: torch.Tensor, callback: Callback = None
) -> torch.Tensor:
    """EDM's Algorithm 1 (deterministic): Euler step, then a trapezoidal correction, except into sigma = 0."""
    for i in range(len(sigmas) - 1):
        denoised = model(x, _sig(sigmas[i], x))
        if callback:
            callback(i, x, denoised)
        d = _d(x, sigmas[i], denoised)
        dt = sigmas[i + 1] - sigmas[i]
        x_next = x + d * dt
        if sigmas[i + 1] > 0:
            d2 = _d(x_next, sigmas[i + 1], model(x_next, _sig(sigmas[i + 1], x)))
            x_next = x + (d + d2) / 2 * dt
        x = x_next
    return x


@torch.no_grad()
def sample_ddim(model: Model, x: torch.Tensor, sigmas: torch.Tensor, callback: Callback = None, eta: float = 0.0,
                generator: torch.Generator | None = None) -> torch.Tensor:  # fmt: skip
    """DDIM in sigma form: x_next = denoised + sigma_down * eps + sigma_up * z. With eta = 0 it is the
    deterministic DDIM (which coincides with Euler in this parameterisation); eta = 1 is ancestral."""
    for i in range(len(sigmas) - 1):
        s, s_next = sigmas[i], sigmas[i + 1]
        denoised = model(x, _sig(s, x))
        if callback:
            callback(i, x, denoised)
        eps = (x - denoised) / s
        up = (
            min(float(s_next), eta * float((s_next**2 * (s**2 - s_next**2) / s**2).sqrt()))
            if s_next > 0
            else 0.0
        )
        down = float((s_next**2 - up**2) ** 0.5)
        x = denoised + eps * down
        if up > 0:
            x = x + torch.randn(x.shape, generator=generator) * up
    return x


@torch.no_grad()
def sample_dpmpp_2m(
    model: Model, x: torch.Tensor, sigmas: torch.Tensor, callback: Callback = None
) -> torch.Tensor:
    """DPM-Solver++(2M) (Lu et al. 2022): second order from the previous step's estimate, one model
    call a step. The fast path: good faces in 8 steps."""
    old = None
    for i in range(len(sigmas) - 1):
        denoised = model(x, _sig(sigmas[i], x))
        if callback:
            callback(i, x, denoised)
        if sigmas[i + 1] == 0:
            x = denoised
            break
        t, t_next = -sigmas[i].log(), -sigmas[i + 1].log()
        h = t_next - t
        if old is None:
            d = denoised
        else:
            h_last = t - (-sigmas[i - 1].log())
            r = h_last / h
            d = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old
        x = (sigmas[i + 1] / sigmas[i]) * x - torch.expm1(-h) * d
        old = denoised
    return x


SAMPLERS = {"euler": sample_euler, "heun": sample_heun, "ddim": sample_ddim, "dpmpp_2m": sample_dpmpp_2m}
