"""Building blocks shared by the autoencoder and the denoiser."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with up to 32 groups of at least 4 channels, the group count dividing the width."""
    groups = next(g for g in range(min(32, max(channels // 4, 1)), 0, -1) if channels % g == 0)
    return nn.GroupNorm(groups, channels, eps=1e-6)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice with a skip; `emb` (if given) scales and shifts the second norm."""

    def __init__(self, cin: int, cout: int, emb_dim: int = 0, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1, self.conv1 = norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2, self.conv2 = norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * cout) if emb_dim else None
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.norm2(h)
        if self.emb is not None and emb is not None:
            scale, shift = self.emb(emb)[:, :, None, None].chunk(2, dim=1)
            h = h * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class Attention(nn.Module):
    """Self-attention over the feature map, then cross-attention to text tokens (when given).
    Works on (N, H*W, C) token rows with Linear layers: plain matrix products, faster here than
    1x1 convolutions on small maps."""

    def __init__(self, channels: int, context_dim: int = 0, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)
        self.cross = bool(context_dim)
        if self.cross:
            self.norm_x = nn.LayerNorm(channels)
            self.q = nn.Linear(channels, channels)
            self.kv = nn.Linear(context_dim, 2 * channels)
            self.proj_x = nn.Linear(channels, channels)
            nn.init.zeros_(self.proj_x.weight)
            nn.init.zeros_(self.proj_x.bias)

    def _split(self, t: torch.Tensor) -> torch.Tensor:  # (N, L, C) -> (N, heads, L, C/heads)
        n, length, c = t.shape
        return t.reshape(n, length, self.heads, c // self.heads).transpose(1, 2)

    def _merge(self, a: torch.Tensor) -> torch.Tensor:  # (N, heads, L, C/heads) -> (N, L, C)
        n, heads, length, d = a.shape
        return a.transpose(1, 2).reshape(n, length, heads * d)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, mask: torch.Tensor | None = None):
        n, c, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)  # (N, HW, C)
        q, k, v = self.qkv(self.norm(t)).chunk(3, dim=2)
        t = t + self.proj(
            self._merge(F.scaled_dot_product_attention(self._split(q), self._split(k), self._split(v)))
        )
        if context is not None and self.cross:
            k, v = self.kv(context).chunk(2, dim=2)
            bias = None if mask is None else mask[:, None, None, :]
            a = F.scaled_dot_product_attention(self._split(self.q(self.norm_x(t))), self._split(k), self._split(v),
                                               attn_mask=bias)  # fmt: skip
            t = t + self.proj_x(self._merge(a))
        return t.transpose(1, 2).reshape(n, c, h, w)
