"""EDM preconditioning and training loss (Karras et al. 2022, "Elucidating the Design Space of
Diffusion-Based Generative Models"), kept apart from the network so either can change alone.

    D(x; sigma) = c_skip(sigma) x + c_out(sigma) F(c_in(sigma) x; c_noise(sigma), text)

with sigma_data the spread of the (unit-variance) latents. Training draws ln(sigma) ~ N(P_mean,
P_std^2) and weights the denoising error by lambda(sigma) = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2.

Rectified flow (SD3, FLUX) fits the same frame, so one set of samplers serves both: its path
x_t = (1 - t) x0 + t eps is the EDM variable x = x0 + sigma eps divided by (1 + sigma), at
t = sigma / (1 + sigma). The network predicts the velocity v = eps - x0 from (x_t, t), so
D(x; sigma) = x_t - t F(x_t; t); training draws t from a logit-normal (SD3's choice) and the
squared velocity error is the denoising error divided by t^2.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import InvalidInput

SIGMA_MIN, SIGMA_MAX = 0.002, 80.0
FORMULATIONS = ("edm", "flow")


class Denoiser(nn.Module):
    """Wraps a network F into the denoiser D(x; sigma, text), text being (N, 384) prompt embeddings;
    `formulation` says what F was trained to predict: "edm" (preconditioned x0) or "flow" (velocity)."""

    def __init__(self, net: nn.Module, sigma_data: float = 1.0, formulation: str = "edm") -> None:
        super().__init__()
        if formulation not in FORMULATIONS:
            raise InvalidInput(f"unknown formulation {formulation!r}; known: {', '.join(FORMULATIONS)}")
        self.net, self.sigma_data, self.formulation = net, sigma_data, formulation

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        sigma = sigma.reshape(-1, 1, 1, 1).to(x.dtype)
        if self.formulation == "flow":
            t = sigma / (1 + sigma)
            xt = x / (1 + sigma)
            return xt - t * self.net(xt, t.flatten(), text)
        sd2 = self.sigma_data**2
        c_skip = sd2 / (sigma**2 + sd2)
        c_out = sigma * self.sigma_data / (sigma**2 + sd2).sqrt()
        c_in = 1 / (sigma**2 + sd2).sqrt()
        c_noise = sigma.log().flatten() / 4
        f = self.net(c_in * x, c_noise, text)
        return c_skip * x + c_out * f


def edm_loss(denoiser: nn.Module, x0: torch.Tensor, text: torch.Tensor, sigma_data: float = 1.0, p_mean: float = -1.2,
             p_std: float = 1.2) -> torch.Tensor:  # fmt: skip
    """`denoiser` is a Denoiser, or the DDP wrapper around one (hence sigma_data passed apart)."""
    sigma = (torch.randn(len(x0)) * p_std + p_mean).exp()
    weight = (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2
    noisy = x0 + torch.randn_like(x0) * sigma.reshape(-1, 1, 1, 1)
    err = (denoiser(noisy, sigma, text) - x0) ** 2
    return (weight.reshape(-1, 1, 1, 1) * err).mean()


def flow_loss(denoiser: nn.Module, x0: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """Rectified-flow velocity loss through a "flow" Denoiser; t ~ logit-normal(0, 1)."""
    t = torch.sigmoid(torch.randn(len(x0))).clamp(1e-4, 0.999).reshape(-1, 1, 1, 1)
    noisy = x0 + torch.randn_like(x0) * t / (1 - t)
    return (((denoiser(noisy, t / (1 - t), text) - x0) / t) ** 2).mean()


def karras_sigmas(
    steps: int, sigma_min: float = SIGMA_MIN, sigma_max: float = SIGMA_MAX, rho: float = 7.0
) -> torch.Tensor:
    """The EDM noise schedule: `steps` levels from sigma_max down to sigma_min, then a final 0."""
    if steps < 1:
        raise InvalidInput(f"steps must be at least 1, got {steps}")
    ramp = torch.linspace(0, 1, steps)
    inv = sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))
    return torch.cat([inv**rho, torch.zeros(1)])
