"""The external peer our generators must beat: the pretrained 64x64 DCGAN shipped in the
`gan-face-generate` 1.1.1 package (trained on DigiFace1M). Its own inference script needs
torchvision and wandb; we only need its network definition (`gan_face_generate.models`, plain
torch) and its weights file, read as tensors only."""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import torch

NZ = 100


@cache
def _generator():
    try:
        from gan_face_generate.models import Generator
    except ImportError as e:
        raise ImportError("the peer comes from `pip install --no-deps gan-face-generate==1.1.1`") from e
    net = Generator(ngpu=0, nc=3, nz=NZ, ngf=64)
    path = resources.files("gan_face_generate") / "weights.tar"
    state = torch.load(str(path), map_location="cpu", weights_only=True)["netG_state_dict"]
    net.load_state_dict(state)
    return net.eval()


def peer_samples(n: int, seed: int = 0, batch: int = 256) -> np.ndarray:
    """n faces (N, 64, 64, 3) uint8 from the peer DCGAN, seeded."""
    g = torch.Generator().manual_seed(seed)
    out = []
    with torch.inference_mode():
        for s in range(0, n, batch):
            z = torch.randn(min(batch, n - s), NZ, 1, 1, generator=g)
            x = _generator()(z)
            out.append(((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy())
    return np.concatenate(out)
