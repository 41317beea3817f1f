"""The text-conditioned denoiser: a small UNet over 16x16x4 latents.

Resolutions 16 -> 8 -> 4 and back, two residual blocks per level, self-attention at 4x4 and in
the middle. Noise level and the prompt's pooled MiniLM embedding enter every residual block as a
scale and shift: face prompts name global attributes (gender, age, smile, glasses, hair, light),
which a sentence embedding carries; per-token cross-attention cost 3x the step time here and was
left out. With `id_dim` > 0 a reference face's identity embedding (SFace, 128-d) enters the same
way, appended to the condition vector after the text: `condition(text, identity)` builds it, with
a learnt "no reference" where there is none (training drops references, so one model serves
prompts with and without a face). The network is plain F(x; c_noise, condition): how sigma
enters and leaves it (EDM preconditioning) lives in diffusion/edm.py, apart from the architecture.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .layers import Attention, ResBlock, norm

# the names of the identity input's parameters (`add_identity`), as state-dict prefixes
IDENTITY_PARAMETERS = ("identity.", "null_identity")


class UNet(nn.Module):
    def __init__(self, in_ch: int = 4, ch: int = 64, mults=(1, 2, 2), attn_levels=(2,), text_dim: int = 384,
                 emb_dim: int = 256, dropout: float = 0.0, id_dim: int = 0) -> None:  # fmt: skip
        super().__init__()
        self.config = {"in_ch": in_ch, "ch": ch, "mults": list(mults), "attn_levels": list(attn_levels),
                       "text_dim": text_dim, "emb_dim": emb_dim, "dropout": dropout}  # fmt: skip
        if id_dim:  # only then, so files without identity keep their exact configuration
            self.config["id_dim"] = id_dim
        self.emb_dim, self.text_dim, self.id_dim = emb_dim, text_dim, id_dim
        self.time = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.text = nn.Sequential(nn.Linear(text_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.null_text = nn.Parameter(torch.zeros(1, text_dim))  # stands in for "no prompt"
        if id_dim:
            self.add_identity(id_dim)
        self.inp = nn.Conv2d(in_ch, ch, 3, padding=1)
        widths = [ch * m for m in mults]
        self.down, self.up = nn.ModuleList(), nn.ModuleList()
        skips, cur = [ch], ch
        for level, w in enumerate(widths):
            for _ in range(2):
                attn = Attention(w) if level in attn_levels else None
                self.down.append(nn.ModuleList([ResBlock(cur, w, emb_dim, dropout), attn or nn.Identity()]))
                cur = w
                skips.append(cur)
            if level < len(widths) - 1:
                self.down.append(nn.ModuleList([nn.Conv2d(cur, cur, 3, stride=2, padding=1)]))
                skips.append(cur)
        self.mid = nn.ModuleList(
            [ResBlock(cur, cur, emb_dim, dropout), Attention(cur), ResBlock(cur, cur, emb_dim, dropout)]
        )
        for level, w in reversed(list(enumerate(widths))):
            for _ in range(3):
                attn = Attention(w) if level in attn_levels else None
                self.up.append(
                    nn.ModuleList([ResBlock(cur + skips.pop(), w, emb_dim, dropout), attn or nn.Identity()])
                )
                cur = w
            if level > 0:
                self.up.append(
                    nn.ModuleList(
                        [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cur, cur, 3, padding=1)]
                    )
                )
        self.out = nn.Sequential(norm(cur), nn.SiLU(), nn.Conv2d(cur, in_ch, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def add_identity(self, id_dim: int = 128) -> None:
        """The identity input, zero at first: a model trained without references continues training
        with them from exactly the function it had."""
        self.id_dim = id_dim
        self.config["id_dim"] = id_dim
        self.identity = nn.Sequential(
            nn.Linear(id_dim, self.emb_dim), nn.SiLU(), nn.Linear(self.emb_dim, self.emb_dim)
        )
        nn.init.zeros_(self.identity[-1].weight)
        nn.init.zeros_(self.identity[-1].bias)
        self.null_identity = nn.Parameter(torch.zeros(1, id_dim))  # stands in for "no reference face"

    def condition(self, text: torch.Tensor, identity: torch.Tensor | None = None) -> torch.Tensor:
        """The condition vector F takes: the text embeddings (N, text_dim), then, for a model with
        an identity input, the reference embeddings (N, id_dim) or the learnt "no reference"."""
        if not self.id_dim:
            if identity is not None:
                raise ValueError("this model has no identity input: it cannot take a reference face")
            return text
        if identity is None:
            identity = self.null_identity.expand(len(text), -1)
        return torch.cat([text, identity.to(text.dtype).expand(len(text), -1)], dim=1)

    def timestep_embedding(self, c_noise: torch.Tensor) -> torch.Tensor:
        half = self.emb_dim // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half).to(
            c_noise.device
        )
        args = c_noise.float()[:, None] * 1000 * freqs[None]  # c_noise = ln(sigma)/4 is ~[-2, 1]
        return torch.cat([args.cos(), args.sin()], dim=1)

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """x: (N, C, H, W) latents; c_noise: (N,); text: (N, text_dim [+ id_dim]) from `condition`."""
        emb = self.time(self.timestep_embedding(c_noise)) + self.text(text[:, : self.text_dim])
        if self.id_dim:
            emb = emb + self.identity(text[:, self.text_dim :])
        h = self.inp(x)
        hs = [h]
        for block in self.down:
            if len(block) == 1:  # downsample
                h = block[0](h)
            else:
                h = block[0](h, emb)
                h = block[1](h)
            hs.append(h)
        h = self.mid[0](h, emb)
        h = self.mid[1](h)
        h = self.mid[2](h, emb)
        for block in self.up:
            if isinstance(block[0], nn.Upsample):
                h = block[1](block[0](h))
            else:
                h = block[0](torch.cat([h, hs.pop()], dim=1), emb)
                h = block[1](h)
        return self.out(h)
