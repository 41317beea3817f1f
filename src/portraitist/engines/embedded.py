"""The models this project trains and ships, behind the engine interface."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..diffusion.samplers import SAMPLERS
from ..gan import TRUNCATION as GAN_TRUNCATION
from ..gan import WEIGHTS as GAN_WEIGHTS
from ..generate import DEFAULTS, WEIGHTS
from ..latent import steering
from .base import Callback, EngineUnavailable, ModelCard, Request, check_request, settings_info

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
    reroll=True,
    fixed_size=True,
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

    @property
    def model(self):
        """The loaded FaceDiffusion (loaded on first use, then kept)."""
        from ..generate import FaceDiffusion

        if self._model is None:
            self._model = FaceDiffusion.load(self.weights)
        return self._model

    def generate(self, request: Request, callback: Callback | None = None) -> list:
        from ..generate import generate

        check_request(self.card, request)
        steps = DEFAULTS["num_inference_steps"] if request.steps is None else request.steps
        images = generate(
            request.prompt,
            negative_prompt=request.negative_prompt,
            num_inference_steps=steps,
            guidance_scale=DEFAULTS["guidance_scale"] if request.guidance is None else request.guidance,
            seed=request.seed or 0,
            sampler=request.sampler or DEFAULTS["sampler"],
            num_images=request.n,
            reroll=request.reroll,
            model=self.model,
            callback=callback,
        )
        for img in images:
            info = dict(img.info)
            info["weights"] = info.pop("model")
            img.info = settings_info(self.card, request, info.pop("seed"), **info)
        return images


FACE_GAN = ModelCard(
    name="face-gan",
    title="portraitist face GAN (shipped)",
    engine="embedded",
    best_for="instant 64x64 faces in bulk; smooth latent edits, interpolation and projection of photos",
    style="small square face crops, CelebA/FairFace/UTKFace photo look",
    native_resolution="64x64",
    speed="0.005 s a face, 0.25 s for 64 on this 2-core CPU (bench/score_gan.py; docs/models/face_gan.md)",
    negative_prompt="yes",
    licence="Apache-2.0 code; weights trained on CelebA/UTKFace (non-commercial research) and FairFace (CC BY 4.0)",
    weights=f"shipped in the package ({GAN_WEIGHTS.name})",
    steps=None,
    guidance=None,
    truncation=(0.0, 1.5),
    reroll=True,
    fixed_size=True,
    max_images=1024,  # one forward pass makes hundreds of faces in well under a second
    honours=frozenset(
        {"gender", "age", "hair_colour", "features", "expression", "light_direction", "light_quality", "film"}
    ),  # fmt: skip
    values={
        "hair_colour": frozenset(steering.BLOND | {"black"}),
        "expression": frozenset(steering.SMILING | steering.NOT_SMILING),
        "features": frozenset({"glasses", "eyeglasses"}),
        "light_direction": frozenset({"from the left", "from the right"}),
        "light_quality": frozenset(steering.WARM | steering.COOL),
        "film": frozenset(steering.WARM | steering.COOL),
    },
    partly={
        "age": "young (under 35) or old (45 and over) only",
        "gender": "man or woman",
        "hair_colour": "blond or black only",
        "features": "glasses only",
        "expression": "smiling or not",
        "light_direction": "from the left or from the right",
        "light_quality": "warm or cool tone only",
        "film": "warm or cool grade only",
    },
    notes="An unconditional GAN: the prompt steers each face along learnt attribute directions in W "
    "(InterFaceGAN); words it has no direction for are ignored. Truncation trades variety for quality.",
)


class FaceGANEngine:
    card = FACE_GAN

    def __init__(self, weights=None, directions=None) -> None:
        self.weights, self.directions_file = weights, directions
        self._gan = self._directions = None

    def availability(self) -> tuple[bool, str]:
        path = Path(self.weights) if self.weights else GAN_WEIGHTS
        return (True, "shipped weights present") if path.exists() else (False, f"weights missing at {path}")

    def load(self):
        from ..gan import FaceGAN
        from ..latent.gan_directions import Directions

        if self._gan is None:
            self._gan = FaceGAN.load(self.weights)
            path = Path(self.directions_file) if self.directions_file else self._gan.directions_path
            self._directions = Directions.load(path) if path.exists() else None
        return self._gan, self._directions

    def generate(self, request: Request, callback: Callback | None = None) -> list:
        check_request(self.card, request)
        gan, directions = self.load()
        signs = steering.wanted(request.prompt, request.negative_prompt)
        if signs and directions is None:
            raise EngineUnavailable(f"{gan.name} has no directions file to steer by prompt: run "
                                    f"`portraitist directions --weights {gan.path}`")  # fmt: skip
        truncation = GAN_TRUNCATION if request.truncation is None else float(request.truncation)
        seeds = [(request.seed or 0) + i for i in range(request.n)]

        def run(batch: list[int]) -> np.ndarray:
            return gan.synthesize(self._w(batch, truncation, signs), batch)

        if request.reroll:
            from ..quality.reroll import reroll

            arrays, infos = reroll(run, seeds, tries=1 + int(request.reroll))
        else:
            arrays, infos = run(seeds), [{"seed": s} for s in seeds]
        images = []
        for k, (arr, info) in enumerate(zip(arrays, infos, strict=True)):
            img = Image.fromarray(arr)
            qa = {"qa": info["qa"], "tries": info["tries"]} if "qa" in info else {}
            img.info = settings_info(self.card, request, info["seed"], weights=gan.name, truncation=truncation,
                                     steered=signs or None, **qa)  # fmt: skip
            images.append(img)
            if callback:
                callback(k + 1, len(arrays), img)
        return images

    def _w(self, seeds: list[int], truncation: float, signs: dict[str, int]):
        gan, directions = self.load()
        w = gan.ws(seeds, truncation)
        return steering.steer(w, directions, signs) if signs else w

    def edit(self, settings: dict, edits: dict[str, float]) -> np.ndarray:
        """A generated face (from its saved settings: prompt, negative prompt, seed, truncation) moved
        along the named directions, in standard deviations of W (studio names: hair = blond,
        light = light from the left, warmth = warm)."""
        from ..latent.gan_directions import edit_w

        gan, directions = self.load()
        if directions is None:
            raise EngineUnavailable(f"{gan.name} has no directions file: run `portraitist directions`")
        names = {STUDIO_EDITS.get(k, k): v for k, v in edits.items()}
        seed = int(settings["seed"])
        signs = steering.wanted(settings.get("prompt", ""), settings.get("negative_prompt"))
        w = self._w([seed], float(settings.get("truncation", GAN_TRUNCATION)), signs)
        return gan.synthesize(edit_w(w, directions, names), [seed])[0]


STUDIO_EDITS = {"hair": "blond", "light": "light_left", "warmth": "warm"}
