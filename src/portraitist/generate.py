"""Text-to-face generation with the shipped latent diffusion model, in the call convention users of
diffusers know:

    from portraitist import generate
    images = generate("close-up portrait of a smiling woman", negative_prompt="eyeglasses",
                      num_inference_steps=8, guidance_scale=3.0, seed=42, num_images=4)

Each returned PIL image is 64x64 (the model's native resolution) and carries its settings in
`image.info` (written into the PNG by `save`). The same call gives the same images on the same
machine; image i of a call with seed s is the face seed s + i gives alone, up to float rounding
that depends on the batch size (a level or two in a few pixels).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .checkpoints import load_exported
from .diffusion.edm import Denoiser, karras_sigmas
from .diffusion.guidance import guided
from .diffusion.samplers import SAMPLERS
from .nets.autoencoder import Autoencoder
from .nets.unet import UNet
from .prompting.negatives import split_negations
from .text import TextEncoder

WEIGHTS = Path(__file__).resolve().parent / "weights" / "face_diffusion.safetensors"
DEFAULTS = {"num_inference_steps": 8, "guidance_scale": 3.0, "sampler": "dpmpp_2m"}
MAX_PROMPT_CHARS = 1000
MAX_IMAGES = 64
MAX_STEPS = 200


@dataclass
class FaceDiffusion:
    autoencoder: Autoencoder
    denoiser: Denoiser
    meta: dict
    name: str = "portraitist-face-diffusion"
    text: TextEncoder = field(default_factory=TextEncoder)

    @classmethod
    def load(cls, path: str | Path | None = None) -> FaceDiffusion:
        path = Path(path) if path else WEIGHTS
        tensors, meta = load_exported(path, "latent-diffusion", "diffusion weights", "diffusion")
        ae = Autoencoder()
        ae.load_state_dict({k[12:]: v.float() for k, v in tensors.items() if k.startswith("autoencoder.")})
        unet = UNet(ch=int(meta["unet"]["ch"]))
        unet.load_state_dict({k[5:]: v.float() for k, v in tensors.items() if k.startswith("unet.")})
        formulation = str(meta.get("formulation", "edm")).lower()
        denoiser = Denoiser(unet, float(meta.get("sigma_data", 1.0)), formulation)
        return cls(
            ae.eval().requires_grad_(False), denoiser.eval().requires_grad_(False), meta, name=path.stem
        )

    @torch.inference_mode()
    def generate_seeds(
        self, prompt, negative_prompt, steps, guidance, seeds, sampler, callback=None
    ) -> np.ndarray:
        """One face per seed; `prompt` is one text for all, or a list with one text per seed.
        Negated phrases ("without glasses") move from the prompt to its negative prompt."""
        n = len(seeds)
        prompts = [prompt] * n if isinstance(prompt, str) else list(prompt)
        if len(prompts) != n:
            raise ValueError(f"{len(prompts)} prompts for {n} seeds")
        split = [split_negations(p) for p in prompts]
        negatives = [", ".join(filter(None, [negative_prompt, *negated])) for _, negated in split]
        # one negative per face, each distinct text encoded once; the learnt "no prompt" where none
        texts = sorted({t for t in negatives if t})
        embedded = dict(zip(texts, self.text.encode(texts), strict=True)) if texts else {}
        null = self.denoiser.net.null_text.reshape(-1)
        negative = torch.stack([embedded[t] if t else null for t in negatives])
        cond = self.text.encode([rest for rest, _ in split])
        return self.sample(cond, negative, steps, guidance, seeds, sampler, callback)

    @torch.inference_mode()
    def sample(
        self, cond, negative, steps, guidance, seeds, sampler, callback=None, noise=None
    ) -> np.ndarray:
        """Faces from prompt embeddings (N, 384) rather than text: what latent-space edits and prompt
        interpolation use. `negative` is one embedding (1, 384), one per face (N, 384), or None for
        the learnt "no prompt";
        `noise` (N, 4, 16, 16) replaces the seeds' initial noise (e.g. slerped between two seeds)."""
        n = len(seeds)
        negative = (negative if negative is not None else self.denoiser.net.null_text).expand(n, -1)
        sigmas = karras_sigmas(steps)
        if noise is None:
            noise = torch.stack(
                [torch.randn(4, 16, 16, generator=torch.Generator().manual_seed(int(s))) for s in seeds]
            )
        z = SAMPLERS[sampler](
            guided(self.denoiser, cond, negative, guidance), noise * sigmas[0], sigmas, callback
        )
        x = self.autoencoder.decode(z)
        return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def check_settings(prompt, negative_prompt, steps, guidance, seed, sampler, n) -> None:
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("the prompt is empty: describe the face to generate")
    for name, text in (("prompt", prompt), ("negative prompt", negative_prompt or "")):
        if len(text) > MAX_PROMPT_CHARS:
            raise ValueError(f"the {name} has {len(text)} characters; the limit is {MAX_PROMPT_CHARS}")
    if not 1 <= int(steps) <= MAX_STEPS:
        raise ValueError(f"steps must be between 1 and {MAX_STEPS}, got {steps}")
    if not 0 <= float(guidance) <= 30:
        raise ValueError(f"guidance must be between 0 and 30, got {guidance}")
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose from {', '.join(SAMPLERS)}")
    if not 1 <= int(n) <= MAX_IMAGES:
        raise ValueError(f"the number of images must be between 1 and {MAX_IMAGES}, got {n}")
    if not 0 <= int(seed) < 2**63 - MAX_IMAGES * 10**7:
        raise ValueError(f"the seed must be a non-negative 63-bit integer, got {seed}")


@cache
def default_model() -> FaceDiffusion:
    return FaceDiffusion.load()


def generate(
    prompt: str,
    negative_prompt: str | None = None,
    num_inference_steps: int = DEFAULTS["num_inference_steps"],
    guidance_scale: float = DEFAULTS["guidance_scale"],
    seed: int = 0,
    sampler: str = DEFAULTS["sampler"],
    num_images: int = 1,
    reroll: int = 0,
    model: FaceDiffusion | None = None,
    callback=None,
) -> list[Image.Image]:
    """Generate faces; `reroll=K` regenerates faces that fail QA (face found, eyes match) up to K
    more times with new seeds (needs the [quality] instruments). Settings ride in `image.info`.
    `callback(step, total, preview)` is called after every sampler step with the first face's
    current estimate of the clean image (a PIL image), for progress bars and live previews."""
    model = model or default_model()
    check_settings(prompt, negative_prompt, num_inference_steps, guidance_scale, seed, sampler, num_images)
    seeds = [seed + i for i in range(num_images)]
    settings = {
        "prompt": prompt,
        "negative_prompt": negative_prompt or None,
        "steps": int(num_inference_steps),
        "guidance": float(guidance_scale),
        "sampler": sampler,
        "model": model.name,
        "native_resolution": "64x64",
    }

    def on_step(i: int, x: torch.Tensor, denoised: torch.Tensor) -> None:
        with torch.inference_mode():
            face = model.autoencoder.decode(denoised[:1])[0]
        arr = ((face.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
        callback(i + 1, int(num_inference_steps), Image.fromarray(arr))

    def run(batch_seeds: list[int]) -> np.ndarray:
        return model.generate_seeds(
            prompt, negative_prompt, num_inference_steps, guidance_scale, batch_seeds, sampler,
            on_step if callback else None,
        )  # fmt: skip

    if reroll:
        from .quality.reroll import reroll as reroll_faces

        arrays, qa = reroll_faces(run, seeds, tries=1 + int(reroll))
    else:
        arrays, qa = run(seeds), [{"seed": s} for s in seeds]
    images = []
    for arr, info in zip(arrays, qa, strict=True):
        img = Image.fromarray(arr)
        img.info = {
            **settings,
            "seed": info["seed"],
            **({"qa": info["qa"], "tries": info["tries"]} if "qa" in info else {}),
        }
        images.append(img)
    return images


def save(images: list[Image.Image], out: str | Path, upscale: int = 1) -> list[Path]:
    """Write each image as PNG with its settings (and a grid of all); `upscale` enlarges for viewing."""
    from .contact_sheet import contact_sheet
    from .png import save_png

    out = Path(out)
    paths = []
    for i, img in enumerate(images):
        size = (img.width * upscale, img.height * upscale)
        shown = img.resize(size, Image.Resampling.LANCZOS) if upscale > 1 else img
        settings = dict(img.info) | ({"shown_at": f"{size[0]}x{size[1]}"} if upscale > 1 else {})
        name = f"{img.info['seed']:06d}.png" if "seed" in img.info else f"{i:03d}.png"
        paths.append(save_png(shown, out / name, settings))
    if len(images) > 1:
        cell = min(images[0].width * max(upscale, 2), 512)
        grid = contact_sheet(np.stack([np.asarray(i.resize(images[0].size)) for i in images]), cell=cell)
        paths.append(save_png(grid, out / "grid.png", {k: v for k, v in images[0].info.items() if k != "qa"}))
    return paths
