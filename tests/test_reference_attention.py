"""Reference attention (diffusion/reference_attention.py): the drawn face's self-attention also sees
its reference, and nothing else changes."""

import pytest
import torch

from portraitist.diffusion.edm import Denoiser
from portraitist.diffusion.reference_attention import attending_to_reference, referenced
from portraitist.errors import InvalidInput
from portraitist.nets.layers import Attention
from portraitist.nets.unet import UNet


def _denoiser() -> Denoiser:
    torch.manual_seed(0)
    net = UNet(ch=16, mults=(1, 2), attn_levels=(1,), emb_dim=32)
    for p in net.parameters():  # the zero-initialised output layers would hide what attention does
        p.data.normal_(0, 0.1)
    return Denoiser(net).eval()


def _inputs(n=2):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 4, 16, 16, generator=g)
    return x, torch.full((n,), 1.5), torch.randn(n, 384, generator=g)


@torch.no_grad()
@pytest.mark.parametrize("weight", [1.0, 4.0])
def test_a_face_referencing_itself_is_drawn_as_alone(weight):
    """Attending to an exact copy of its own tokens leaves every attention output as it was."""
    d = _denoiser()
    x, sigma, text = _inputs()
    alone = d(x, sigma, text)
    noise = torch.randn_like(x)
    z0 = x - 1.5 * noise  # noised to sigma 1.5 by `noise`, the reference is x itself
    with attending_to_reference(d.net, weight):
        shared = referenced(d, z0, noise, text)(x, sigma, text)
    torch.testing.assert_close(shared, alone, rtol=1e-4, atol=1e-5)


@torch.no_grad()
def test_a_layer_sees_the_reference_and_the_reference_sees_only_itself():
    torch.manual_seed(0)
    layer = Attention(16)
    for p in layer.parameters():
        p.data.normal_(0, 0.5)
    x, ref = torch.randn(2, 16, 4, 4), torch.randn(2, 16, 4, 4)
    alone, ref_alone = layer(x), layer(ref)
    layer.reference_bias = 0.0
    both = layer(torch.cat([x, ref]))
    layer.reference_bias = 2.0
    leaning = layer(torch.cat([x, ref]))
    assert (both[:2] - alone).abs().mean() > 0.1 * alone.abs().mean()
    assert (leaning[:2] - both[:2]).abs().mean() > 0.1 * alone.abs().mean()  # the weight matters
    torch.testing.assert_close(both[2:], ref_alone, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(leaning[2:], ref_alone, rtol=1e-4, atol=1e-5)


@torch.no_grad()
def test_outside_the_block_the_reference_rows_ride_along_unseen():
    d = _denoiser()
    x, sigma, text = _inputs()
    alone = d(x, sigma, text)
    z0, noise = torch.randn_like(x), torch.randn_like(x)
    with attending_to_reference(d.net, 2.0):
        seen = referenced(d, z0, noise, text)(x, sigma, text)
    assert not torch.allclose(seen, alone, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(referenced(d, z0, noise, text)(x, sigma, text), alone, rtol=1e-4, atol=1e-5)
    assert all(m.reference_bias is None for m in d.net.modules() if isinstance(m, Attention))


@torch.no_grad()
def test_guidance_branches_share_the_references():
    """Guidance stacks cond and negative rows: each gets the reference of its face."""
    d = _denoiser()
    x, sigma, text = _inputs()
    z0, noise = torch.randn_like(x), torch.randn_like(x)
    with attending_to_reference(d.net):
        one = referenced(d, z0, noise, text)(x, sigma, text)
        two = referenced(d, z0, noise, text)(
            torch.cat([x, x]), torch.cat([sigma, sigma]), torch.cat([text, text])
        )
    torch.testing.assert_close(two[:2], one, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(two[2:], one, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("weight", [0.0, -1.0, 1000.0])
def test_absurd_weights_are_refused(weight):
    net = _denoiser().net
    with pytest.raises(InvalidInput, match="reference attention weight"), attending_to_reference(net, weight):
        pass
