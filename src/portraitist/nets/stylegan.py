"""A StyleGAN2-style generator and a matching residual discriminator, sized for a CPU.

Generator: z -> mapping MLP -> w (the style space the latent-space tools edit); a learnt 4x4
constant is upsampled to the output size through modulated 3x3 convolutions (weights scaled by a
per-sample style from w, then demodulated), per-pixel noise inputs with learnt strength, and
skip-connected toRGB outputs at every resolution (StyleGAN2's "skip" generator). Equalised learning
rate throughout. Discriminator: residual blocks down to 4x4, a minibatch standard-deviation
feature, then a linear head.

With `c_dim` > 0 both networks take a condition (a prompt's MiniLM embedding): the generator's
mapping network reads it beside z (each embedded and normalised, then concatenated, as in
StyleGAN2-ADA's conditional networks), and the discriminator scores an image by projecting its
features onto the condition's embedding (the projection discriminator), so it judges whether the
face is real *and* fits its caption. `c_dim` 0 builds exactly the unconditional networks.

Resolution is a parameter (a power of two from 8 up); channel widths follow `channels(res)`: narrow
at high resolution, where convolutions cost the most on a CPU, wide at low resolution, where the
face's structure forms and a convolution is cheap (bench/profile_gan.py measures the trade).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import InvalidInput


class EqualLinear(nn.Module):
    def __init__(
        self, cin: int, cout: int, bias_init: float = 0.0, lr_mul: float = 1.0, act: bool = False
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin) / lr_mul)
        self.bias = nn.Parameter(torch.full((cout,), float(bias_init)))
        self.scale, self.lr_mul, self.act = lr_mul / math.sqrt(cin), lr_mul, act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return F.leaky_relu(x, 0.2) * math.sqrt(2) if self.act else x


class EqualConv(nn.Module):
    def __init__(
        self, cin: int, cout: int, k: int, act: bool = True, down: bool = False, bias: bool = True
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.scale, self.act, self.down, self.pad = 1 / math.sqrt(cin * k * k), act, down, k // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.down:
            x = F.avg_pool2d(x, 2)
        x = F.conv2d(x, self.weight * self.scale, self.bias, padding=self.pad)
        return F.leaky_relu(x, 0.2) * math.sqrt(2) if self.act else x


class ModulatedConv(nn.Module):
    """3x3 (or 1x1) convolution whose weights a per-sample style scales, then (optionally) demodulates."""

    def __init__(
        self, cin: int, cout: int, k: int, w_dim: int, demodulate: bool = True, up: bool = False
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, cout, cin, k, k))
        self.affine = EqualLinear(w_dim, cin, bias_init=1.0)
        self.scale, self.demodulate, self.up, self.pad = 1 / math.sqrt(cin * k * k), demodulate, up, k // 2
        self.cin, self.cout, self.k = cin, cout, k

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        # StyleGAN2's non-fused form: scale the input channels by the style, convolve with the
        # shared weight, scale the outputs by the demodulation factor. The same result as modulating
        # the weight per sample, but one batched convolution instead of a grouped one (3-5x faster on CPU).
        style = self.affine(w)  # (N, cin)
        weight = self.weight[0] * self.scale  # (cout, cin, k, k)
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        out = F.conv2d(x * style[:, :, None, None], weight, padding=self.pad)
        if self.demodulate:
            demod = torch.rsqrt(style.pow(2) @ weight.pow(2).sum(dim=(2, 3)).t() + 1e-8)  # (N, cout)
            out = out * demod[:, :, None, None]
        return out


class StyledLayer(nn.Module):
    def __init__(self, cin: int, cout: int, w_dim: int, up: bool = False) -> None:
        super().__init__()
        self.conv = ModulatedConv(cin, cout, 3, w_dim, up=up)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(1, cout, 1, 1))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        x = self.conv(x, w)
        if noise is None:
            noise = torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device)
        x = x + self.noise_strength * noise + self.bias
        return F.leaky_relu(x, 0.2) * math.sqrt(2)


class ToRGB(nn.Module):
    def __init__(self, cin: int, w_dim: int) -> None:
        super().__init__()
        self.conv = ModulatedConv(cin, 3, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, w: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        rgb = self.conv(x, w) + self.bias
        if skip is not None:
            rgb = rgb + F.interpolate(skip, scale_factor=2, mode="bilinear", align_corners=False)
        return rgb


def channels(res: int, base: int, cap: int | None = None) -> int:
    """Width at a resolution: `base` at 64 px, doubling per halving, capped at `cap` (default 4x base)."""
    return min(cap or 4 * base, base * 64 // res)


def normalise(x: torch.Tensor) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class Mapping(nn.Module):
    def __init__(self, z_dim: int, w_dim: int, layers: int = 4, c_dim: int = 0) -> None:
        super().__init__()
        dims = [z_dim + (w_dim if c_dim else 0)] + [w_dim] * layers
        self.embed = EqualLinear(c_dim, w_dim) if c_dim else None
        self.net = nn.Sequential(
            *[EqualLinear(a, b, lr_mul=0.01, act=True) for a, b in zip(dims, dims[1:], strict=False)]
        )

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        z = normalise(z)
        if self.embed is not None:
            z = torch.cat([z, normalise(self.embed(needs_condition(c, len(z))))], dim=1)
        elif c is not None:
            raise InvalidInput("this generator is unconditional: it takes no condition")
        return self.net(z)


def needs_condition(c: torch.Tensor | None, n: int) -> torch.Tensor:
    if c is None:
        raise InvalidInput("this network is conditional: it needs a condition (a prompt's embedding)")
    if c.dim() != 2 or len(c) not in (1, n):
        raise InvalidInput(f"expected conditions of shape (1 or {n}, c_dim), got {tuple(c.shape)}")
    return c.expand(n, -1)


class Generator(nn.Module):
    def __init__(
        self,
        resolution: int = 64,
        z_dim: int = 128,
        w_dim: int = 128,
        base: int = 64,
        map_layers: int = 4,
        cap: int | None = None,
        c_dim: int = 0,
    ) -> None:
        super().__init__()
        if resolution < 8 or resolution & (resolution - 1):
            raise InvalidInput(f"resolution must be a power of two of at least 8, got {resolution}")
        self.config = {"resolution": resolution, "z_dim": z_dim, "w_dim": w_dim, "base": base,
                       "map_layers": map_layers, "cap": cap}  # fmt: skip
        if c_dim:  # only then, so unconditional files keep their exact configuration
            self.config["c_dim"] = c_dim
        self.resolution, self.z_dim, self.w_dim, self.c_dim = resolution, z_dim, w_dim, c_dim
        self.mapping = Mapping(z_dim, w_dim, map_layers, c_dim)
        self.const = nn.Parameter(torch.randn(1, channels(4, base, cap), 4, 4))
        self.layers, self.to_rgb = nn.ModuleList(), nn.ModuleList()
        res, cin = 4, channels(4, base, cap)
        self.layers.append(StyledLayer(cin, cin, w_dim))
        self.to_rgb.append(ToRGB(cin, w_dim))
        while res < resolution:
            res *= 2
            cout = channels(res, base, cap)
            self.layers.append(StyledLayer(cin, cout, w_dim, up=True))
            self.layers.append(StyledLayer(cout, cout, w_dim))
            self.to_rgb.append(ToRGB(cout, w_dim))
            cin = cout
        self.num_ws = len(self.layers) + 1  # one w per layer plus the last toRGB (for style mixing)
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def ws(self, z: torch.Tensor, truncation: float = 1.0, c: torch.Tensor | None = None) -> torch.Tensor:
        """z (N, z_dim) -> w (N, w_dim), pulled towards the average w by `truncation` < 1: for a
        conditional generator, the average w of its condition c (1 or N, c_dim), so truncation
        trades variety for quality without trading away the prompt."""
        w = self.mapping(z, c)
        if truncation == 1:
            return w
        return (self.w_avg if c is None else self.centre(c, len(z))).lerp(w, truncation)

    CENTRE_SAMPLES = 256

    def centre(self, c: torch.Tensor, n: int = 1) -> torch.Tensor:
        """The average w of each condition (over CENTRE_SAMPLES fixed z): (n, w_dim)."""
        c = needs_condition(c, n)
        z = torch.randn(self.CENTRE_SAMPLES, self.z_dim, generator=torch.Generator().manual_seed(0))
        unique, where = torch.unique(c, dim=0, return_inverse=True)
        centres = torch.stack([self.mapping(z, u[None]).mean(0) for u in unique])
        return centres[where]

    def synthesis(self, w: torch.Tensor, noise_seed: int | list[int] | None = None) -> torch.Tensor:
        """w as (N, w_dim) or per-layer (N, num_ws, w_dim) -> images in [-1, 1]-ish (N, 3, R, R).
        Noise inputs are random unless `noise_seed` fixes them: one seed for the batch, or one per
        sample (then each sample's noise is the same whatever batch it is generated in)."""
        per_layer = w if w.dim() == 3 else w.unsqueeze(1).expand(-1, self.num_ws, -1)
        n = w.shape[0]
        if isinstance(noise_seed, list | tuple):
            if len(noise_seed) != n:
                raise InvalidInput(f"{len(noise_seed)} noise seeds for {n} samples")
            gens = [torch.Generator().manual_seed(int(s)) for s in noise_seed]
        else:
            gens = [torch.Generator().manual_seed(noise_seed)] if noise_seed is not None else None
        x = self.const.expand(n, -1, -1, -1)
        rgb, i, li = None, 0, 0
        for block in range(len(self.to_rgb)):
            for _ in range(1 if block == 0 else 2):
                size = 4 * 2**block
                if gens is None:
                    noise = None
                elif len(gens) == 1:
                    noise = torch.randn(n, 1, size, size, generator=gens[0])
                else:
                    noise = torch.stack([torch.randn(1, size, size, generator=g) for g in gens])
                x = self.layers[li](x, per_layer[:, i], noise)
                li, i = li + 1, i + 1
            rgb = self.to_rgb[block](x, per_layer[:, min(i, self.num_ws - 1)], rgb)
        return rgb

    def forward(
        self, z: torch.Tensor, truncation: float = 1.0, c: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.synthesis(self.ws(z, truncation, c))


class DiscriminatorBlock(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = EqualConv(cin, cin, 3)
        self.conv2 = EqualConv(cin, cout, 3, down=True)
        self.skip = EqualConv(cin, cout, 1, act=False, down=True, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.skip(x) + self.conv2(self.conv1(x))) / math.sqrt(2)


class Discriminator(nn.Module):
    def __init__(
        self,
        resolution: int = 64,
        base: int = 64,
        mbstd_group: int = 4,
        cap: int | None = None,
        c_dim: int = 0,
    ) -> None:
        super().__init__()
        self.from_rgb = EqualConv(3, channels(resolution, base, cap), 1)
        blocks, res = [], resolution
        while res > 4:
            blocks.append(DiscriminatorBlock(channels(res, base, cap), channels(res // 2, base, cap)))
            res //= 2
        self.blocks = nn.Sequential(*blocks)
        c = channels(4, base, cap)
        self.mbstd_group = mbstd_group
        self.conv = EqualConv(c + 1, c, 3)
        self.fc = EqualLinear(c * 16, c, act=True)
        # conditional: c features projected onto the condition's embedding (scaled to unit variance)
        self.out = EqualLinear(c, c if c_dim else 1)
        self.embed = EqualLinear(c_dim, c) if c_dim else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.from_rgb(x))

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = self.features(x)
        n, ch, h, w = x.shape
        g = min(self.mbstd_group, n)
        while n % g:
            g -= 1
        std = x.view(g, -1, ch, h, w).std(dim=0, unbiased=False).mean(dim=(1, 2, 3))  # (n/g,)
        x = torch.cat([x, std.repeat(g).view(n, 1, 1, 1).expand(n, 1, h, w)], dim=1)
        x = self.out(self.fc(self.conv(x).flatten(1)))
        if self.embed is None:
            if c is not None:
                raise InvalidInput("this discriminator is unconditional: it takes no condition")
            return x.squeeze(1)
        return (x * self.embed(needs_condition(c, n))).sum(1) / math.sqrt(x.shape[1])
