"""The Python API, in the call convention users of diffusers know:

    from portraitist import generate, save
    images = generate("close-up portrait of a smiling woman", negative_prompt="eyeglasses",
                      num_inference_steps=8, guidance_scale=3.0, seed=42, num_images=4)
    save(images, "out/")

It runs the same engine, through the same request check (`Request.resolve` against the model
card), as the CLI, the HTTP API and the studio. Each returned PIL image carries its settings in
`image.info` (written into the PNG by `save`). The same call gives the same images on the same
machine; image i of a call with seed s is the face seed s + i gives alone, up to float rounding
that depends on the batch size (a level or two in a few pixels).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from .engines import Request, get_engine


@cache
def engine(model: str = "face-diffusion", weights: str | None = None):
    """One engine per model and weights file, kept loaded between calls."""
    return get_engine(model, weights=weights) if weights else get_engine(model)


def generate(
    prompt: str,
    negative_prompt: str | None = None,
    num_inference_steps: int | None = None,
    guidance_scale: float | None = None,
    seed: int = 0,
    sampler: str | None = None,
    num_images: int = 1,
    reroll: int = 0,
    model: str = "face-diffusion",
    weights: str | Path | None = None,
    truncation: float | None = None,
    callback=None,
) -> list[Image.Image]:
    """Generate faces with `model` (see `portraitist models`); settings left at None take the model
    card's defaults. `reroll=K` regenerates faces that fail QA (face found, eyes match) up to K more
    times with new seeds. `callback(step, total, preview)` is called after every sampler step with
    the first face's current estimate (a PIL image), for progress bars and live previews."""
    request = Request(prompt, negative_prompt=negative_prompt, seed=seed, steps=num_inference_steps,
                      guidance=guidance_scale, sampler=sampler, n=num_images, truncation=truncation,
                      reroll=reroll)  # fmt: skip
    return engine(model, str(weights) if weights else None).generate(request, callback=callback)


def save(images: list[Image.Image], out: str | Path, upscale: int = 1,
         c2pa: tuple[str | Path, str | Path] | None = None) -> list[Path]:  # fmt: skip
    """Write each image as PNG with its settings (and a grid of all); `upscale` enlarges for viewing;
    `c2pa=(certificate chain PEM, private key PEM)` also signs each face's Content Credentials."""
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
        if c2pa:
            from .provenance import sign_png

            sign_png(paths[-1], settings, *c2pa)
    if len(images) > 1:
        cell = min(images[0].width * max(upscale, 2), 512)
        grid = contact_sheet(np.stack([np.asarray(i.resize(images[0].size)) for i in images]), cell=cell)
        paths.append(save_png(grid, out / "grid.png", {k: v for k, v in images[0].info.items() if k != "qa"}))
    return paths
