"""The face GAN pipeline: a StyleGAN-style generator, its file format and its inference
(train one with `portraitist train gan --export`).

    gan = FaceGAN.from_pretrained("runs/gan/gan.safetensors")
    faces = gan.generate(seeds=[0, 1, 2], truncation=0.85)    # (3, 64, 64, 3) uint8

Seed s always gives the same face (its z and its noise inputs both come from s). A text-conditioned
generator (`train gan --captions`) also takes a prompt and a negative prompt:

    faces = gan.generate(seeds=[0, 1], truncation=0.85, prompt="a smiling woman", negative="glasses")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..checkpoints import CheckpointError, load_exported, save_weights
from ..errors import InvalidInput
from ..nets.stylegan import Generator
from ..paths import WEIGHTS_DIR
from ..vocabulary import split_negations

WEIGHTS = WEIGHTS_DIR / "face_gan.safetensors"
KIND = "stylegan"
VAGUE = "portrait photo of a person"  # a conditional generator's condition when no prompt is given


def directions_path(weights: str | Path) -> Path:
    return Path(weights).with_suffix(".directions.safetensors")


def to_uint8(x: torch.Tensor) -> np.ndarray:
    return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def upgrade_legacy(meta: dict) -> dict:
    """The generator's constructor arguments; files written before configurations were saved kept
    them as loose keys (resolution, z_dim, base, cap; w_dim was z_dim and the mapping 4 layers)."""
    if "config" in meta:
        return dict(meta["config"])
    base, z_dim = int(meta["base"]), int(meta["z_dim"])
    return {"resolution": int(meta["resolution"]), "z_dim": z_dim, "w_dim": z_dim, "base": base,
            "map_layers": 4, "cap": int(meta.get("cap", 4 * base))}  # fmt: skip


@dataclass
class FaceGAN:
    G: Generator
    meta: dict
    name: str = "face-gan"
    path: Path | None = None
    text: object = None  # the prompt encoder (TextEncoder), loaded on a conditional generator's first prompt

    @staticmethod
    def directions_path_of(weights: str | Path | None) -> Path:
        return directions_path(weights or WEIGHTS)

    @property
    def directions_path(self) -> Path:
        """Where its latent directions live: beside the weights (`portraitist directions` writes them)."""
        return directions_path(self.path or WEIGHTS)

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None) -> FaceGAN:
        path = Path(path) if path else WEIGHTS
        tensors, meta = load_exported(path, KIND, "GAN weights", "gan")
        G = Generator(**upgrade_legacy(meta))
        try:
            G.load_state_dict({k: v.float() for k, v in tensors.items()})
        except RuntimeError as e:
            raise CheckpointError(f"{path} does not fit its declared generator: {e}") from e
        return cls(G.eval().requires_grad_(False), meta, name=path.stem, path=path)

    def save_pretrained(self, path: str | Path, **meta) -> Path:
        """Weights (float16) with the generator's configuration and `meta` (training record)."""
        return save_weights(self.G, path, {"kind": KIND, "config": self.G.config} | meta, dtype=torch.float16)

    def z(self, seeds: list[int]) -> torch.Tensor:
        return torch.stack(
            [torch.randn(self.G.z_dim, generator=torch.Generator().manual_seed(int(s))) for s in seeds]
        )

    @property
    def conditional(self) -> bool:
        """Whether the generator takes a prompt (trained with --captions); otherwise the engine steers."""
        return bool(self.G.c_dim)

    def embed(self, texts: list[str]) -> torch.Tensor:
        if self.text is None:
            from ..text import TextEncoder

            self.text = TextEncoder()
        return self.text.encode(texts)

    @torch.inference_mode()
    def ws(self, seeds: list[int], truncation: float = 1.0, prompt: str | None = None,
           negative: str | None = None, guidance: float = 1.0) -> torch.Tensor:  # fmt: skip
        return self.ws_of(self.z(seeds), truncation, prompt, negative, guidance)

    @torch.inference_mode()
    def ws_of(self, z: torch.Tensor, truncation: float = 1.0, prompt: str | None = None,
              negative: str | None = None, guidance: float = 1.0) -> torch.Tensor:  # fmt: skip
        """w for latents z (N, z_dim) (one per seed, or mixed: variations, interpolation). A
        conditional generator maps them under the prompt (VAGUE when none), truncated towards the
        prompt's own average w; `guidance` g > 1 then pushes them g - 1 times further along the
        step from the vague prompt's average to the prompt's (the GAN's analogue of classifier-free
        guidance: more adherence, less variety); a negative prompt moves them away from its average
        towards the vague prompt's. An unconditional generator ignores all three (the engine steers it)."""
        if not self.conditional:
            return self.G.ws(z, truncation)
        rest, negated = split_negations(prompt or VAGUE)
        w = self.G.ws(z, truncation, self.embed([rest]))
        if guidance != 1.0:
            w = self.shift(w, rest, VAGUE, guidance - 1.0)
        negatives = [t for t in (negative, *negated) if t]
        return self.shift(w, VAGUE, ", ".join(negatives)) if negatives else w

    @torch.inference_mode()
    def shift(self, w: torch.Tensor, towards: str, away: str, strength: float = 1.0) -> torch.Tensor:
        """w (N, w_dim) or per-layer (N, num_ws, w_dim) moved by the difference between two prompts'
        average w: the same step for every face, so each keeps what its own w says beyond the prompt
        (a conditional generator's negative prompts, and its edits of a face or a projected photo)."""
        a, b = self.embed([towards, away]).split(1)
        return w + strength * (self.G.centre(a) - self.G.centre(b))

    @torch.inference_mode()
    def synthesize(self, w: torch.Tensor, noise_seeds: list[int]) -> np.ndarray:
        """Images for w (N, w_dim) or per-layer w (N, num_ws, w_dim), each with its seed's noise."""
        return to_uint8(self.G.synthesis(w, noise_seed=[int(s) for s in noise_seeds]))

    def generate(self, seeds: list[int], truncation: float, prompt: str | None = None,
                 negative: str | None = None, guidance: float = 1.0) -> np.ndarray:  # fmt: skip
        if not 0 <= truncation <= 1.5:
            raise InvalidInput(f"truncation must be between 0 and 1.5, got {truncation}")
        return self.synthesize(self.ws(seeds, truncation, prompt, negative, guidance), seeds)
