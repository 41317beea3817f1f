"""Samplers, schedule and guidance on a toy whose exact denoiser is known: data ~ N(0, s^2 I), so
D(x; sigma) = x s^2 / (s^2 + sigma^2). Every sampler must turn pure noise into samples of spread s."""

import pytest
import torch

from portraitist.diffusion.edm import Denoiser, edm_loss, flow_loss, karras_sigmas
from portraitist.diffusion.guidance import guided
from portraitist.diffusion.samplers import SAMPLERS

S = 0.5


def exact(x, sigma):
    s2 = S**2
    return x * s2 / (s2 + sigma.reshape(-1, 1, 1, 1) ** 2)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_every_sampler_reaches_the_data_distribution(name):
    torch.manual_seed(0)
    sigmas = karras_sigmas(100)
    x = torch.randn(4000, 1, 2, 2) * sigmas[0]
    out = SAMPLERS[name](exact, x, sigmas)
    assert out.std().item() == pytest.approx(S, rel=0.05), name


def test_fast_path_in_eight_steps_beats_euler():
    sigmas = karras_sigmas(8)
    x = torch.randn(4000, 1, 2, 2, generator=torch.Generator().manual_seed(0)) * sigmas[0]
    fast = abs(SAMPLERS["dpmpp_2m"](exact, x, sigmas).std().item() - S)
    euler = abs(SAMPLERS["euler"](exact, x, sigmas).std().item() - S)
    assert fast < 0.2 * S and fast < euler


def test_deterministic_given_the_noise_and_callback_sees_every_step():
    sigmas = karras_sigmas(10)
    x = torch.randn(8, 4, 16, 16, generator=torch.Generator().manual_seed(1)) * sigmas[0]
    seen = []
    a = SAMPLERS["heun"](exact, x.clone(), sigmas, callback=lambda i, x, d: seen.append(i))
    b = SAMPLERS["heun"](exact, x.clone(), sigmas)
    assert torch.equal(a, b) and seen == list(range(10))


def test_karras_schedule_shape_and_errors():
    s = karras_sigmas(5)
    assert len(s) == 6 and s[0] == pytest.approx(80) and s[-2] == pytest.approx(0.002) and s[-1] == 0
    assert torch.all(s[:-1] > s[1:])
    with pytest.raises(ValueError):
        karras_sigmas(0)


class Shift(torch.nn.Module):
    """A fake network whose output is its text embedding's first value everywhere."""

    def forward(self, x, c_noise, text):
        return text[:, :1, None, None].expand_as(x)


def test_guidance_combines_prompt_and_negative():
    d = Denoiser(Shift())
    x, sigma = torch.zeros(2, 1, 2, 2), torch.full((2,), 1.0)
    cond, neg = torch.full((2, 384), 1.0), torch.full((2, 384), -1.0)
    c_out = 1 / 2**0.5  # sigma = sigma_data = 1
    out = guided(d, cond, neg, 3.0)(x, sigma)
    assert torch.allclose(out, torch.full_like(out, c_out * (-1 + 3 * 2)))
    assert torch.allclose(guided(d, cond, neg, 1.0)(x, sigma), torch.full_like(out, c_out))
    with pytest.raises(ValueError):
        guided(d, cond, neg, 100.0)


def test_edm_loss_is_finite_and_differentiable():
    from portraitist.nets.unet import UNet

    net = UNet(ch=32)
    loss = edm_loss(Denoiser(net), torch.randn(4, 4, 16, 16), torch.randn(4, 384))
    loss.backward()
    assert torch.isfinite(loss) and all(
        p.grad is not None for p in net.parameters() if p.requires_grad and p is not net.null_text
    )


class ExactVelocity(torch.nn.Module):
    """The exact rectified-flow velocity E[eps - x0 | x_t] for data ~ N(0, S^2 I)."""

    def forward(self, xt, t, text):
        t = t.reshape(-1, 1, 1, 1)
        x0 = xt * (1 - t) * S**2 / ((1 - t) ** 2 * S**2 + t**2)
        return (xt - x0) / t


def test_flow_formulation_is_the_same_denoiser_in_the_edm_frame():
    flow = Denoiser(ExactVelocity(), formulation="flow")
    x = torch.randn(64, 1, 2, 2) * 3
    sigma = torch.logspace(-2, 1.9, 64)
    assert torch.allclose(flow(x, sigma, torch.zeros(64, 384)), exact(x, sigma), atol=1e-5)
    # so the EDM samplers sample a flow model unchanged
    sigmas = karras_sigmas(40)
    noise = torch.randn(4000, 1, 2, 2, generator=torch.Generator().manual_seed(0)) * sigmas[0]
    out = SAMPLERS["heun"](lambda x, s: flow(x, s, torch.zeros(len(x), 384)), noise, sigmas)
    assert out.std().item() == pytest.approx(S, rel=0.05)
    with pytest.raises(ValueError, match="unknown formulation"):
        Denoiser(ExactVelocity(), formulation="ddpm")


def test_flow_loss_is_smallest_for_the_exact_velocity():
    torch.manual_seed(0)
    x0 = torch.randn(2000, 1, 2, 2) * S
    text = torch.zeros(2000, 384)
    exact_loss = flow_loss(Denoiser(ExactVelocity(), formulation="flow"), x0, text)

    class Off(ExactVelocity):
        def forward(self, xt, t, text):
            return super().forward(xt, t, text) + 0.1

    off_loss = flow_loss(Denoiser(Off(), formulation="flow"), x0, text)
    assert torch.isfinite(exact_loss) and exact_loss < off_loss


def test_guidance_in_a_limited_interval_follows_the_prompt_alone_outside_it():
    import torch

    from portraitist.diffusion.guidance import guided

    def denoiser(x, sigma, text):  # a stand-in whose output is its text's sum
        return torch.zeros_like(x) + text.sum(1).view(-1, 1, 1, 1)

    cond, negative = torch.ones(2, 4), torch.zeros(2, 4)
    x = torch.zeros(2, 1, 2, 2)
    model = guided(denoiser, cond, negative, 3.0, interval=(1.0, 5.0))
    inside, above, below = (model(x, torch.full((2,), s)) for s in (2.0, 10.0, 0.5))
    assert torch.allclose(inside, torch.full_like(x, 12.0))  # negative + 3 * (prompt - negative)
    assert torch.allclose(above, torch.full_like(x, 4.0)) and torch.allclose(below, above)  # the prompt alone
    assert torch.allclose(guided(denoiser, cond, negative, 3.0)(x, torch.full((2,), 10.0)), inside)
    with pytest.raises(ValueError, match="guidance interval"):
        guided(denoiser, cond, negative, 3.0, interval=(5.0, 1.0))
