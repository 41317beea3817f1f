"""The models this project trains and ships, behind the engine interface."""

from __future__ import annotations

from pathlib import Path

from ..diffusion.samplers import SAMPLERS
from ..generate import DEFAULTS, WEIGHTS
from .base import Callback, ModelCard, Request, check_request, settings_info

FACE_DIFFUSION = ModelCard(
    name="face-diffusion",
    title="portraitist face diffusion (shipped)",
    engine="embedded",
    best_for="fast, private 64x64 face drafts on a laptop CPU; attribute edits by prompt",
    style="small square face crops, CelebA/FairFace/UTKFace photo look",
    native_resolution="64x64",
    speed="0.09 s a face, 0.61 s for 16 on this 2-core CPU (bench/score_diffusion.py; docs/models/face_diffusion.md)",
    negative_prompt="yes",
    licence="Apache-2.0 code; weights trained on CelebA/UTKFace (non-commercial research) and FairFace (CC BY 4.0)",
    weights=f"shipped in the package ({WEIGHTS.name})",
    samplers=tuple(sorted(SAMPLERS)),
    honours=frozenset(
        {
            "gender",
            "age",
            "ethnicity",
            "hair_colour",
            "features",
            "expression",
            "light_direction",
            "light_quality",
            "film",
        }
    ),  # fmt: skip
    values={
        "hair_colour": frozenset(
            {"blond", "blonde", "black", "brown", "dark brown", "grey", "gray", "silver"}
        ),
        "expression": frozenset(
            {"smiling", "soft smile", "broad smile", "laughing", "serious", "neutral expression"}
        ),
        "features": frozenset(
            {
                "glasses",
                "eyeglasses",
                "beard",
                "full beard",
                "moustache",
                "mustache",
                "makeup",
                "red lipstick",
                "earrings",
                "a hat",
                "bangs",
                "wavy hair",
                "straight hair",
            }
        ),
        "light_direction": frozenset({"from the left", "from the right", "front light"}),
        "light_quality": frozenset({"low-key lighting", "high-key lighting"}),
        "film": frozenset({"black and white", "monochrome"}),
        "shot": frozenset({"close-up", "headshot", "extreme close-up"}),
    },  # fmt: skip
    partly={
        "shot": "every face is a close 64x64 crop",
        "age": "life stage and decade (child, teen, twenties ... elderly), not exact years",
        "hair_colour": "blond, black, brown and grey only (the labels it learnt from)",
        "features": "glasses, beard, moustache, makeup, lipstick, earrings, hat, bangs, wavy or straight hair",
        "expression": "smiling or not",
        "light_direction": "from the left, from the right or frontal",
        "light_quality": "low-key / high-key (and warm / cool tones) only",
        "film": "black and white only",
    },
    notes="Cannot honour lens, aperture, eye colour or quality words: every face is a 64x64 crop.",
)


class FaceDiffusionEngine:
    card = FACE_DIFFUSION

    def __init__(self, weights=None) -> None:
        self.weights = weights
        self._model = None

    def availability(self) -> tuple[bool, str]:
        path = Path(self.weights) if self.weights else WEIGHTS
        return (True, "shipped weights present") if path.exists() else (False, f"weights missing at {path}")

    def generate(self, request: Request, callback: Callback | None = None) -> list:
        from ..generate import FaceDiffusion, generate

        check_request(self.card, request)
        if self._model is None:
            self._model = FaceDiffusion.load(self.weights)
        steps = DEFAULTS["num_inference_steps"] if request.steps is None else request.steps
        images = generate(
            request.prompt,
            negative_prompt=request.negative_prompt,
            num_inference_steps=steps,
            guidance_scale=DEFAULTS["guidance_scale"] if request.guidance is None else request.guidance,
            seed=request.seed or 0,
            sampler=request.sampler or DEFAULTS["sampler"],
            num_images=request.n,
            model=self._model,
            callback=callback,
        )
        for img in images:
            info = dict(img.info)
            info["weights"] = info.pop("model")
            img.info = settings_info(self.card, request, info.pop("seed"), **info)
        return images
