"""The autoencoder between 64x64x3 faces and a latent grid, so that the denoiser works where compute
is cheap: measured here, a small UNet trains ~10x faster on 16x16x4 latents than on 64x64 pixels.

`factor` (4: 16x16, 2: 32x32) and `latent` (channels) set the compression; the first shipped
model used 16x16x4 (12x fewer numbers), whose reconstructions bound FD far above real photos
(docs/diffusion.md, "Choosing the representation")."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import InvalidInput
from .layers import ResBlock, norm


class Encoder(nn.Module):
    """64 -> 32 by a strided convolution (no full-resolution blocks: they cost most and add little),
    residual blocks at 32 and (factor 4) 16."""

    def __init__(self, ch: int = 64, latent: int = 4, factor: int = 4) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, ch, 4, stride=2, padding=1), ResBlock(ch, ch)]  # 32
        if factor == 4:
            layers += [nn.Conv2d(ch, 2 * ch, 3, stride=2, padding=1), ResBlock(2 * ch, 2 * ch)]  # 16
        else:
            layers += [nn.Conv2d(ch, 2 * ch, 3, padding=1), ResBlock(2 * ch, 2 * ch)]
        layers += [norm(2 * ch), nn.SiLU(), nn.Conv2d(2 * ch, latent, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Upsample(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class Decoder(nn.Module):
    def __init__(self, ch: int = 64, latent: int = 4, factor: int = 4) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(latent, 2 * ch, 3, padding=1),
            ResBlock(2 * ch, 2 * ch),
            ResBlock(2 * ch, 2 * ch),
        ]
        if factor == 4:
            layers.append(Upsample(2 * ch, ch))  # 32
        else:
            layers.append(nn.Conv2d(2 * ch, ch, 3, padding=1))
        layers += [ResBlock(ch, ch), Upsample(ch, ch // 2), norm(ch // 2), nn.SiLU()]  # 64
        layers.append(nn.Conv2d(ch // 2, 3, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Autoencoder(nn.Module):
    """encode: faces in [-1, 1] -> latents scaled to unit variance; decode: the inverse.
    `shift` and `scale` are measured over training latents after training (buffers, saved)."""

    def __init__(self, ch: int = 64, latent: int = 4, factor: int = 4) -> None:
        super().__init__()
        if factor not in (2, 4):
            raise InvalidInput(f"the autoencoder downsamples by 2 or 4, not {factor}")
        if latent < 1 or ch < 8:
            raise InvalidInput(f"latent channels must be >= 1 and width >= 8, got {latent}, {ch}")
        self.config = {"ch": ch, "latent": latent, "factor": factor}
        self.encoder, self.decoder = Encoder(ch, latent, factor), Decoder(ch, latent, factor)
        self.register_buffer("shift", torch.zeros(1, latent, 1, 1))
        self.register_buffer("scale", torch.ones(1, latent, 1, 1))

    def latent_shape(self, size: int = 64) -> tuple[int, int, int]:
        """(channels, height, width) of the latent of a size x size face."""
        side = size // self.config["factor"]
        return (self.config["latent"], side, side)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return (self.encoder(x) - self.shift) / self.scale

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z * self.scale + self.shift)

    @classmethod
    def from_file(cls, path) -> tuple[Autoencoder, dict]:
        """An exported autoencoder built from the configuration saved beside its weights (files from
        before configurations were saved are the first model's 16x16x4 at width 64); and its metadata."""
        from ..checkpoints import load_into, load_weights

        _, meta = load_weights(path)
        ae = cls(**meta.get("config", {}))
        load_into(ae, path)
        return ae, meta

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw = self.encoder(x)
        return self.decoder(raw), raw
