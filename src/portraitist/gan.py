"""Faces from a trained StyleGAN-style generator (train it with `portraitist train gan --export`).

    gan = FaceGAN.load("runs/gan/gan.safetensors")
    faces = gan.generate(seeds=[0, 1, 2], truncation=0.85)    # (3, 64, 64, 3) uint8

Seed s always gives the same face (its z and its noise inputs both come from s).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .checkpoints import CheckpointError, load_exported
from .nets.stylegan import Generator

WEIGHTS = Path(__file__).resolve().parent / "weights" / "face_gan.safetensors"
TRUNCATION = 0.85  # the default: best FD of the sweep in docs/models/face_gan.md


def directions_path(weights: str | Path) -> Path:
    return Path(weights).with_suffix(".directions.safetensors")


def to_uint8(x: torch.Tensor) -> np.ndarray:
    return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


@dataclass
class FaceGAN:
    G: Generator
    meta: dict
    name: str = "face-gan"
    path: Path | None = None

    @property
    def directions_path(self) -> Path:
        """Where its latent directions live: beside the weights (`portraitist directions` writes them)."""
        return directions_path(self.path or WEIGHTS)

    @classmethod
    def load(cls, path: str | Path | None = None) -> FaceGAN:
        path = Path(path) if path else WEIGHTS
        tensors, meta = load_exported(path, "stylegan", "GAN weights", "gan")
        z_dim = int(meta["z_dim"])
        base = int(meta["base"])
        G = Generator(int(meta["resolution"]), z_dim=z_dim, w_dim=z_dim, base=base,
                      cap=int(meta.get("cap", 4 * base)))  # fmt: skip
        try:
            G.load_state_dict({k: v.float() for k, v in tensors.items()})
        except RuntimeError as e:
            raise CheckpointError(f"{path} does not fit its declared generator: {e}") from e
        return cls(G.eval().requires_grad_(False), meta, name=path.stem, path=path)

    def z(self, seeds: list[int]) -> torch.Tensor:
        return torch.stack(
            [torch.randn(self.G.z_dim, generator=torch.Generator().manual_seed(int(s))) for s in seeds]
        )

    @torch.inference_mode()
    def ws(self, seeds: list[int], truncation: float = 1.0) -> torch.Tensor:
        return self.G.ws(self.z(seeds), truncation)

    @torch.inference_mode()
    def synthesize(self, w: torch.Tensor, noise_seeds: list[int]) -> np.ndarray:
        """Images for w (N, w_dim) or per-layer w (N, num_ws, w_dim), each with its seed's noise."""
        return to_uint8(self.G.synthesis(w, noise_seed=[int(s) for s in noise_seeds]))

    def generate(self, seeds: list[int], truncation: float = TRUNCATION) -> np.ndarray:
        if not 0 <= truncation <= 1.5:
            raise ValueError(f"truncation must be between 0 and 1.5, got {truncation}")
        return self.synthesize(self.ws(seeds, truncation), seeds)
