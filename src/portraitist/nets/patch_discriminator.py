"""A small PatchGAN discriminator (pix2pix; the autoencoders of latent diffusion use one): it scores
overlapping patches of an image as real or reconstructed, which pushes a decoder towards sharp,
plausible texture that pixel losses alone average away. 64x64 in, an 8x8 map of logits out."""

from __future__ import annotations

from torch import nn


class PatchDiscriminator(nn.Module):
    def __init__(self, width: int = 32) -> None:
        super().__init__()

        def block(cin: int, cout: int, stride: int) -> list[nn.Module]:
            return [
                nn.Conv2d(cin, cout, 4 if stride == 2 else 3, stride, 1),
                nn.GroupNorm(8, cout),
                nn.LeakyReLU(0.2),
            ]

        self.net = nn.Sequential(
            nn.Conv2d(3, width, 4, 2, 1),
            nn.LeakyReLU(0.2),
            *block(width, 2 * width, 2),
            *block(2 * width, 4 * width, 2),
            nn.Conv2d(4 * width, 1, 3, 1, 1),
        )

    def forward(self, x):
        return self.net(x)
