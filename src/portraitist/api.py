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

from .engines import DEFAULT_MODEL, Request, get_engine
from .engines.base import require
from .errors import InvalidInput
from .reference import Reference, StartImage


@cache
def engine(model: str = DEFAULT_MODEL, weights: str | None = None):
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
    reroll: int | None = None,
    model: str = DEFAULT_MODEL,
    weights: str | Path | None = None,
    truncation: float | None = None,
    callback=None,
    face=None,
    identity_guidance: float | None = None,
    variation_of: int | None = None,
    variation_strength: float | None = None,
    style: str | None = None,
    init_image=None,
    strength: float | None = None,
    invert: bool = False,
    branch_from: str | None = None,
) -> list[Image.Image]:
    """Generate faces with `model` (see `portraitist models`); settings left at None take the model
    card's defaults. `reroll=K` regenerates faces that fail QA (face found, eyes match, well formed)
    up to K more times with new seeds (each built-in model's card has its default, `default_reroll`;
    `reroll=0` returns every seed's own face). `callback(step, total, preview)` is called after
    every sampler step with the first face's current estimate (a PIL image), for progress bars and
    live previews.
    `face`: portraits of this person (a photo's path, a PIL image or array, or a Reference), for
    models whose card lists "reference"; `identity_guidance` scales it apart from the text.
    `variation_of=SEED`: near relatives of the face SEED made (`variation_strength` 0..1, default 0.2),
    one per new seed (seed, seed + 1, ...). `style`: a named look (`portraitist styles`).
    `init_image` (a photo's path, image or array, or a StartImage) with `strength` 0..1 (default
    0.6): start from that photo's face instead of pure noise; `invert=True` (face-diffusion) starts
    from the face inverted rather than noised, which keeps much more of its person (its strength, unless
    given, is chosen by what the prompt asks: diffusion/inversion.py, docs/identity.md).
    `branch_from` (face-diffusion): a prompt the first steps are drawn under; the last `strength` of
    them (by default chosen by what the prompt asks, as for `invert`) follow the prompt: each seed's
    face for `branch_from`, changed as the prompt asks (how a series from a seed keeps its person)."""
    request = Request(prompt, negative_prompt=negative_prompt, seed=seed, steps=num_inference_steps,
                      guidance=guidance_scale, sampler=sampler, n=num_images, truncation=truncation,
                      reroll=reroll, reference=as_reference(face),
                      identity_guidance=identity_guidance, variation_of=variation_of,
                      variation_strength=variation_strength, style=style,
                      init_image=as_start_image(init_image), strength=strength, invert=invert,
                      branch_from=branch_from)  # fmt: skip
    return engine(model, str(weights) if weights else None).generate(request, callback=callback)


def as_reference(face) -> Reference | None:
    """A Reference from what a user hands over: None, a Reference, a file path, a PIL image or an array."""
    return _given(face, Reference, "the reference image")


def as_start_image(photo) -> StartImage | None:
    """A StartImage from None, a StartImage, a Reference made here, a file path, a PIL image or an array."""
    if isinstance(photo, Reference):
        if photo.face is None:
            raise InvalidInput(
                f"the reference {photo.name} carries no face to start from: give the photo itself"
            )
        return StartImage.from_aligned(photo.face, photo.name)
    return _given(photo, StartImage, "the start image")


def _given(thing, kind, what: str):
    if thing is None or isinstance(thing, kind):
        return thing
    if isinstance(thing, str | Path):
        return kind.from_file(thing)
    return kind.from_image(thing, what)


SERIES_BASE_PROMPT = "close-up portrait photo of a person"


def series(
    prompts: list[str],
    face=None,
    seed: int = 0,
    negative_prompt: str | None = None,
    num_inference_steps: int | None = None,
    guidance_scale: float | None = None,
    identity_guidance: float | None = None,
    model: str = DEFAULT_MODEL,
    weights: str | Path | None = None,
    truncation: float | None = None,
    style: str | None = None,
    strength: float | None = None,
) -> list[Image.Image]:
    """One person in several portraits, one per prompt: the person in `face`, or else the person the
    seed makes (for a model that takes references: the face `seed` gives for SERIES_BASE_PROMPT,
    used as the reference; for the GAN: the seed's face, steered by each prompt). Every portrait
    uses the same seed. A diffusion model without an identity input starts each portrait from the
    face's inversion instead, or, for a seed's person, branches the seed's own path (the last
    `strength` of the steps follow each prompt; by default chosen by what each prompt asks,
    diffusion/inversion.py; docs/identity.md)."""
    if not prompts or any(not str(p).strip() for p in prompts):
        raise InvalidInput("a series needs one or more non-empty prompts")
    eng = engine(model, str(weights) if weights else None)
    require(eng.card, "series")
    # no re-rolls: a re-rolled seed would be another person
    settings = {"negative_prompt": negative_prompt, "seed": seed, "steps": num_inference_steps,
                "guidance": guidance_scale, "truncation": truncation, "style": style, "reroll": 0}  # fmt: skip
    person = series_person(eng, face, settings, strength)
    images = []
    for prompt in prompts:
        request = Request(prompt, **settings, **person, identity_guidance=identity_guidance)
        images += eng.generate(request)
    return images


def series_person(eng, face, settings: dict, strength: float | None = None) -> dict:
    """Who a series shows, as what each of its requests adds to `settings`: `face` (anything
    `as_reference` takes, or a StartImage) where given, else the face the seed makes for
    SERIES_BASE_PROMPT (with the series' other `settings`). A model that takes references gets it
    as one; a diffusion model without an identity input starts each portrait from its inversion,
    `strength` of the way, or, for the seed's own person, follows the seed's path under
    SERIES_BASE_PROMPT and branches off it for the last `strength` of the steps (exact where
    inversion is approximate: docs/identity.md); the GAN keeps the seed's person by steering the
    seed's own latent."""
    caps = eng.card.capabilities

    def seed_face() -> tuple[np.ndarray, str]:  # the face the seed makes, and its name
        face = eng.generate(Request(SERIES_BASE_PROMPT, **settings))[0]
        return np.asarray(face), f"seed {settings.get('seed') or 0}"

    if "reference" not in caps and face is None and "branch" in caps:  # the seed's own path, branched
        return {"branch_from": SERIES_BASE_PROMPT, "strength": strength}
    if "reference" not in caps and "invert" in caps:
        start = as_start_image(face) if face is not None else StartImage.from_aligned(*seed_face())
        return {"init_image": start, "strength": strength, "invert": True}
    if strength is not None:
        raise InvalidInput(f"{eng.card.name} keeps the person without a start image: it takes no strength")
    if isinstance(face, StartImage):
        face = Reference.from_aligned(face.face, face.name)
    reference = as_reference(face)
    if reference is None and "reference" in caps:
        reference = Reference.from_aligned(*seed_face())
    return {"reference": reference}


def grid(
    prompt: str,
    x: str,
    y: str | None = None,
    model: str = DEFAULT_MODEL,
    weights: str | Path | None = None,
    progress=None,
    **settings,
):
    """A comparison grid (grid.py): `x`, `y` are "SETTING=V1,V2,..." (steps, guidance, sampler,
    seed, truncation, model, prompt search/replace ...); `settings` are `generate`'s keyword
    arguments for everything else. Returns (the labelled sheet, the cells); `save_grid` writes them."""
    from . import grid as grids

    base = Request(prompt, negative_prompt=settings.pop("negative_prompt", None), seed=settings.pop("seed", 0),
                   steps=settings.pop("num_inference_steps", None), guidance=settings.pop("guidance_scale", None),
                   sampler=settings.pop("sampler", None), truncation=settings.pop("truncation", None),
                   reference=as_reference(settings.pop("face", None)),
                   identity_guidance=settings.pop("identity_guidance", None), style=settings.pop("style", None),
                   reroll=0)  # a comparison keeps each cell's seed  # fmt: skip
    if settings:
        raise InvalidInput(f"grid does not take {', '.join(sorted(settings))}")
    x_axis = grids.parse_axis(x)
    y_axis = grids.parse_axis(y) if y else None
    if y_axis and y_axis.name == x_axis.name:
        raise InvalidInput(f"x and y are both {x_axis.name}: choose two different settings")
    cells = grids.plan(prompt, x_axis, y_axis, base, model)
    own = str(weights) if weights else None
    grids.run(cells, lambda m: engine(m, own if m == model else None), progress)
    return grids.sheet(cells, x_axis, y_axis), cells


def save_grid(sheet: Image.Image, cells: list, out: str | Path, x: str, y: str | None = None) -> list[Path]:
    """The sheet as grid.png (every cell's settings in its metadata) and each made cell as its own PNG."""
    import json

    from .grid import cell_settings
    from .png import save_png

    out = Path(out)
    paths = []
    for k, cell in enumerate(cells):
        if cell.image is not None:
            paths.append(save_png(cell.image, out / f"cell-{k:02d}.png", dict(cell.image.info)))
    marks = {"model": cells[0].model, "prompt": cells[0].request.prompt, "grid_x": x, "grid_y": y,
             "grid_cells": json.dumps(cell_settings(cells))}  # fmt: skip
    paths.append(save_png(sheet, out / "grid.png", {k: v for k, v in marks.items() if v is not None}))
    return paths


def save(images: list[Image.Image], out: str | Path, upscale: int = 1,
         c2pa: tuple[str | Path, str | Path] | None = None, captions: list[str] | None = None) -> list[Path]:  # fmt: skip
    """Write each image as PNG with its settings (and a grid of all); `upscale` enlarges for viewing;
    `c2pa=(certificate chain PEM, private key PEM)` also signs each face's Content Credentials;
    `captions` label the grid's cells (a series: each prompt). Names are the seed asked for (a
    re-rolled face's own seed is in its settings), or the position where seeds repeat (a series)."""
    from .contact_sheet import contact_sheet
    from .png import save_png

    out = Path(out)
    paths = []
    for i, img in enumerate(images):
        size = (img.width * upscale, img.height * upscale)
        shown = img.resize(size, Image.Resampling.LANCZOS) if upscale > 1 else img
        settings = dict(img.info) | ({"shown_at": f"{size[0]}x{size[1]}"} if upscale > 1 else {})
        asked = [im.info.get("rerolled_from", im.info.get("seed")) for im in images]
        by_seed = "seed" in img.info and len(set(asked)) == len(images)
        name = f"{asked[i]:06d}.png" if by_seed else f"{i:03d}.png"
        paths.append(save_png(shown, out / name, settings))
        if c2pa:
            from .provenance import sign_png

            sign_png(paths[-1], settings, *c2pa)
    if len(images) > 1:
        cell = min(images[0].width * max(upscale, 2), 512)
        faces = np.stack([np.asarray(i.resize(images[0].size)) for i in images])
        grid = contact_sheet(faces, captions, cell=cell)
        shared = {k: v for k, v in images[0].info.items() if k != "qa"}
        if captions:
            shared["prompts"] = " | ".join(captions)
        paths.append(save_png(grid, out / "grid.png", shared))
    return paths
