"""Latent edits for the text-to-face diffusion model, where "latent" means two things: the initial
noise (which fixes identity and layout) and the prompt embedding (which steers attributes).

- `edit`: keep a face's seed (its noise) and prompt, and move the prompt embedding along
  attribute directions found by prompt arithmetic: e("elderly") - e("young") is the age direction.
  A model with an identity input also takes the unedited face as the reference face of the edited
  one, so the edit changes the attribute and keeps the person.
- `invert_photo`, `edit_inverted`: a real photo's starting noise (diffusion/inversion.py), drawn
  again with an edited prompt: editing a real face.
- `interpolate_prompts`: a strip from one prompt to another at a fixed seed (embeddings slerped).
- `interpolate_seeds`: a strip from one seed's face to another's at a fixed prompt (noise slerped,
  which keeps the noise's norm, as a straight line between two Gaussian draws would not).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..diffusion.inversion import INVERSION_PROMPT, INVERSION_STEPS
from ..errors import InvalidInput
from ..pipelines.face_diffusion import FaceDiffusion
from .variations import slerp

DIRECTIONS = {
    "age": ("portrait photo of an elderly person", "portrait photo of a young person"),
    "smile": ("portrait photo of a smiling person", "portrait photo of a serious person"),
    "hair": ("portrait photo of a person with blond hair", "portrait photo of a person with black hair"),
    "glasses": ("portrait photo of a person wearing glasses", "portrait photo of a person"),
    "light": (
        "portrait photo of a person, light from camera left",
        "portrait photo of a person, light from camera right",
    ),
    "warmth": (
        "portrait photo of a person, warm golden light",
        "portrait photo of a person, cold bluish light",
    ),
    "gender": ("portrait photo of a man", "portrait photo of a woman"),
}
MAX_STRENGTH = 3.0


def direction(model: FaceDiffusion, name: str) -> torch.Tensor:
    if name not in DIRECTIONS:
        raise InvalidInput(f"unknown direction {name!r}; choose from {', '.join(DIRECTIONS)}")
    pos, neg = model.text.encode(list(DIRECTIONS[name]))
    return pos - neg


def edited_embedding(model: FaceDiffusion, prompt: str, edits: dict[str, float]) -> torch.Tensor:
    e = model.text.encode([prompt])[0]
    norm = e.norm()
    for name, strength in edits.items():
        if not -MAX_STRENGTH <= float(strength) <= MAX_STRENGTH:
            raise InvalidInput(
                f"edit strength for {name} must be between -{MAX_STRENGTH:g} and {MAX_STRENGTH:g}, got {strength}"
            )
        e = e + float(strength) * direction(model, name)
    return (e / e.norm() * norm).unsqueeze(0)  # MiniLM embeddings are unit length: stay on that sphere


def edit(model: FaceDiffusion, prompt: str, seed: int, edits: dict[str, float], negative_prompt: str | None,
         steps: int, guidance: float, sampler: str, keep_person: bool = True, identity=None,
         identity_scale: float | None = None) -> np.ndarray:  # fmt: skip
    """The face of (prompt, seed[, identity]) with its prompt embedding moved along the named
    directions. A face made from a reference keeps that `identity`; otherwise, with `keep_person`
    and a model with an identity input, the unedited face becomes the reference."""
    negative = model.text.encode([negative_prompt]) if negative_prompt else None
    if identity is None and keep_person and model.takes_reference and edits:
        from ..quality.identity import reference_embedding

        original = model.sample(model.text.encode([prompt]), negative, steps, guidance, [seed], sampler)
        identity = reference_embedding(original)
    edited = edited_embedding(model, prompt, edits)
    return model.sample(edited, negative, steps, guidance, [seed], sampler, identity=identity,
                        identity_scale=identity_scale)[0]  # fmt: skip


@dataclass(frozen=True)
class Inverted:
    """A real photo as this model's starting noise for `prompt` (Euler, `steps`, guidance 1)."""

    noise: torch.Tensor  # (1, C, H, W), at unit scale
    prompt: str
    steps: int
    identity: np.ndarray | None = None  # the photo's reference embedding, for models with an identity input


def invert_photo(model: FaceDiffusion, face: np.ndarray, prompt: str = INVERSION_PROMPT,
                 steps: int = INVERSION_STEPS) -> tuple[Inverted, np.ndarray, float]:  # fmt: skip
    """An aligned 64x64 face -> (its inverted noise, the face drawn back from it, PSNR in dB)."""
    from ..data.dataset import to_tensor
    from ..diffusion.edm import karras_sigmas

    identity = None
    if model.takes_reference:
        from ..quality.identity import reference_embedding

        identity = reference_embedding(face[None])
    sigmas = karras_sigmas(steps)
    with torch.inference_mode():
        z0 = model.autoencoder.encode(to_tensor(face[None]))
        x = model.inverted(z0, sigmas, prompt, None if identity is None else torch.from_numpy(identity))
    inverted = Inverted(x / sigmas[0], prompt, steps, identity)
    back = edit_inverted(model, inverted, {})
    mse = float(((back.astype(np.float64) - face) ** 2).mean())
    return inverted, back, 10 * np.log10(255**2 / max(mse, 1e-9))


def edit_inverted(model: FaceDiffusion, inverted: Inverted, edits: dict[str, float]) -> np.ndarray:
    """The inverted photo drawn again with its prompt moved along the named directions (and, on a
    model with an identity input, the photo's own face as the reference)."""
    cond = edited_embedding(model, inverted.prompt, edits) if edits else model.text.encode([inverted.prompt])
    return model.sample(cond, None, inverted.steps, 1.0, [0], "euler", noise=inverted.noise,
                        identity=inverted.identity)[0]  # fmt: skip


def interpolate_prompts(
    model: FaceDiffusion, a: str, b: str, seed: int, frames: int, steps: int, guidance: float, sampler: str
) -> np.ndarray:
    ea, eb = model.text.encode([a, b])
    cond = torch.stack([slerp(ea, eb, t) for t in np.linspace(0, 1, frames)])
    return model.sample(cond, None, steps, guidance, [seed] * frames, sampler)


def interpolate_seeds(
    model: FaceDiffusion,
    prompt: str,
    seed_a: int,
    seed_b: int,
    frames: int,
    steps: int,
    guidance: float,
    sampler: str,
) -> np.ndarray:
    na, nb = model.initial_noise([seed_a, seed_b])
    noise = torch.stack([slerp(na, nb, t) for t in np.linspace(0, 1, frames)])
    cond = model.text.encode([prompt]).expand(frames, -1)
    return model.sample(cond, None, steps, guidance, [seed_a] * frames, sampler, noise=noise)
