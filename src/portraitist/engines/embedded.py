"""The models this project trains and ships, behind the engine interface."""

from __future__ import annotations

import json
import struct
import threading
from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from .. import vocabulary as vocab
from ..errors import EngineUnavailable, InvalidInput, Unsupported
from ..paths import WEIGHTS_DIR
from ..reference import Reference
from .base import Callback, ModelCard, Request, settings_info

# Extra tries for a face that fails QA, unless a request says otherwise, chosen per model on
# bench/reroll_cost.py (time, faces still failing, faces showing what the prompt asks) and by eye on
# the README prompt's sheet: docs/evaluation.md.
DIFFUSION_REROLL = 5  # tries after the third are for the few faces still failing: they cost little
GAN_REROLL = 2
# off: two re-rolls clean its README sheet a little (by eye 19 -> about 14 of 64 malformed) but
# shift whom a vague prompt draws (bench/reroll_population.py: men 0.48 -> 0.41, white 0.17 -> 0.22)
GAN_TEXT_REROLL = 0

# the shipped weights (pipelines/ owns their format; these are only the paths)
DIFFUSION_WEIGHTS = WEIGHTS_DIR / "face_diffusion.safetensors"
GAN_WEIGHTS = WEIGHTS_DIR / "face_gan.safetensors"
GAN_TEXT_WEIGHTS = WEIGHTS_DIR / "face_gan_text.safetensors"
WEIGHTS_BY_MODEL = {
    "face-diffusion": DIFFUSION_WEIGHTS,
    "face-gan": GAN_WEIGHTS,
    "face-gan-text": GAN_TEXT_WEIGHTS,
}
SHIPPED_WEIGHTS = tuple(WEIGHTS_BY_MODEL.values())
PROJECTION_STEPS = 200  # a start photo's projection into the GAN (latent/gan_directions.py: project)

FACE_DIFFUSION = ModelCard(
    name="face-diffusion",
    title="portraitist face diffusion (shipped)",
    engine="embedded",
    best_for="fast, private 64x64 face drafts on a laptop CPU; attribute edits by prompt",
    style="small square face crops, CelebA/FairFace/UTKFace photo look",
    native_resolution="64x64",
    speed="0.09 s a face, 0.61 s for 16 on this 2-core CPU (bench/score_diffusion.py); 2.6 s for 16 with its "
    "default re-roll (bench/reroll_cost.py; docs/models/face_diffusion.md)",
    negative_prompt="yes",
    licence="Apache-2.0 code; weights trained on CelebA/UTKFace (non-commercial research) and FairFace (CC BY 4.0)",
    weights=f"shipped in the package ({DIFFUSION_WEIGHTS.name})",
    samplers=("ddim", "dpmpp_2m", "euler", "heun"),  # diffusion/samplers.py (a test checks)
    # chosen by measurement: docs/models/face_diffusion.md (bench/tune_sampling.py)
    default_steps=8,
    default_guidance=3.0,
    default_sampler="dpmpp_2m",
    capabilities=frozenset(
        {
            "generate",
            "edit",
            "project",
            "interpolate",
            "series",
            "variations",
            "init-image",
            "invert",
            "branch",
        }
    ),
    reroll=True,
    default_reroll=DIFFUSION_REROLL,
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
        "hair_colour": frozenset().union(*vocab.HAIR_GROUPS.values()),
        "expression": vocab.SMILING | {"serious", "neutral expression", "neutral-faced", "unsmiling"},
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
        "light_direction": frozenset(vocab.LIGHT_SIDES) | {"front light"},
        "light_quality": frozenset({"low-key lighting", "high-key lighting"}),
        "film": vocab.MONOCHROME,
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


@cache
def _header(path: Path, stamp: float) -> dict:
    """The portraitist metadata in a safetensors header, read without loading the tensors (or
    torch); {} when unreadable (loading the file then gives the real error)."""
    try:
        with open(path, "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            return json.loads(json.loads(f.read(size)).get("__metadata__", {}).get("json", "{}"))
    except (OSError, ValueError, struct.error, AttributeError):
        return {}


def _config(path: Path) -> dict:
    """A weights file's saved configuration, read from its header alone."""
    path = Path(path)
    stamp = path.stat().st_mtime if path.exists() else 0.0
    return _header(path, stamp).get("config", {})


def takes_reference(path: Path) -> bool:
    """Whether a diffusion weights file's denoiser has an identity input."""
    return bool(_config(path).get("unet", {}).get("id_dim"))


def reads_prompts(path: Path) -> bool:
    """Whether a GAN weights file's generator is text-conditioned (trained with --captions)."""
    return bool(_config(path).get("c_dim"))


def _inversion_defaults(asked: Request, r: Request) -> Request:
    """`r` (the resolved `asked`, an inversion start) with the inversion's own defaults where `asked`
    names none: Euler (the inversion's mirror image) at 16 steps, and the depth its prompt's asks
    need (diffusion/inversion.py; read from the prompt as given, before any style). The same face
    whatever the seed, so nothing to re-roll."""
    from ..diffusion.inversion import INVERSION_STEPS, inversion_depth

    return replace(
        r,
        steps=r.steps if asked.steps is not None else INVERSION_STEPS,
        sampler=r.sampler if asked.sampler else "euler",
        strength=r.strength
        if asked.strength is not None
        else inversion_depth(asked.prompt, asked.negative_prompt),
        reroll=0,
    )


def _branch_defaults(asked: Request, r: Request) -> Request:
    """`r` (the resolved `asked`, branched from another prompt) with the depth its prompt's asks need
    where `asked` names none (the inversion's table, which also measured best for branches: docs/
    identity.md), and no re-roll unless asked: another seed would be another person."""
    from ..diffusion.inversion import inversion_depth

    depth = r.strength if asked.strength is not None else inversion_depth(asked.prompt, asked.negative_prompt)
    return replace(r, strength=depth, reroll=r.reroll if asked.reroll is not None else 0)


class FaceDiffusionEngine:
    def __init__(self, weights=None) -> None:
        self.weights = weights
        self._model = None
        self._loading = threading.Lock()  # the studio's threads may all ask at once
        # weights with an identity input also take a reference face (and make series from one)
        if takes_reference(Path(weights) if weights else DIFFUSION_WEIGHTS):
            self.card = replace(FACE_DIFFUSION, capabilities=FACE_DIFFUSION.capabilities | {"reference", "series"},
                                identity_guidance=(0.0, 30.0))  # fmt: skip
        else:
            self.card = FACE_DIFFUSION

    def availability(self) -> tuple[bool, str]:
        path = Path(self.weights) if self.weights else DIFFUSION_WEIGHTS
        return (True, "shipped weights present") if path.exists() else (False, f"weights missing at {path}")

    @property
    def model(self):
        """The loaded FaceDiffusion pipeline (loaded on first use, then kept)."""
        from ..pipelines.face_diffusion import FaceDiffusion

        with self._loading:
            if self._model is None:
                self._model = FaceDiffusion.from_pretrained(self.weights)
        return self._model

    def generate(self, request: Request, callback: Callback | None = None) -> list:
        r = request.resolve(self.card)
        if r.invert:
            r = _inversion_defaults(request, r)
        if r.branch_from is not None:
            r = _branch_defaults(request, r)
        pipe = self.model
        seeds = [r.seed + i for i in range(r.n)]

        def on_step(i: int, x, denoised) -> None:
            callback(i + 1, r.steps, Image.fromarray(pipe.to_uint8(denoised[:1])[0]))

        identity = r.reference.embedding if r.reference is not None else None

        def run(batch: list[int], of: list[int] | None = None, strength: float | None = None) -> np.ndarray:
            """The faces of `batch`, or (`of`) variations of those seeds' faces towards them."""
            step = on_step if callback else None
            if of is None and r.variation_of is not None:
                of, strength = [r.variation_of] * len(batch), r.variation_strength
            from ..latent.variations import relatives

            noise = None if of is None else relatives(pipe.initial_noise, of, batch, strength)
            init = None if r.init_image is None else r.init_image.face[None]
            return pipe(r.prompt, r.negative_prompt, r.steps, r.guidance, batch, r.sampler, step, identity,
                        r.identity_guidance, noise, init, 1.0 if r.strength is None else r.strength, r.invert,
                        r.branch_from)  # fmt: skip

        return _images(self.card, r, seeds, run, retry=_nearby(self.card, r, run), weights=pipe.name)

    def _settings(self, settings: dict) -> Request:
        if not settings.get("prompt"):
            raise InvalidInput("a face-diffusion face is its prompt and seed: give the prompt")
        keys = ("negative_prompt", "seed", "steps", "guidance", "sampler")
        return Request(settings["prompt"], **{k: settings.get(k) for k in keys}).resolve(self.card)

    def edit(self, settings: dict, edits: dict[str, float], latent=None) -> np.ndarray:
        """The face of (prompt, seed) with its prompt embedding moved along the named directions
        (prompt arithmetic, latent/prompt_edits.py); weights with an identity input keep the person
        (the face's own reference, or the unedited face as one)."""
        from ..latent.prompt_edits import Inverted, edit, edit_inverted

        if latent is not None:
            if not isinstance(latent, Inverted):
                raise InvalidInput(f"{self.card.name} edits photos it inverted itself (`project`)")
            return edit_inverted(self.model, latent, edits)
        r = self._settings(settings)
        ref = Reference.from_settings(settings) if self.model.takes_reference else None
        return edit(self.model, r.prompt, r.seed, edits, r.negative_prompt, r.steps, r.guidance, r.sampler,
                    identity=None if ref is None else ref.embedding,
                    identity_scale=settings.get("identity_guidance"))  # fmt: skip

    def project(self, photo: np.ndarray, steps: int = 16, seed: int = 0):
        """A real 64x64 face (aligned) -> (its inverted starting noise, the face drawn back, PSNR dB);
        `edit(..., latent=)` then edits it. `seed` is unused: inversion is deterministic."""
        from ..latent.prompt_edits import invert_photo

        if np.asarray(photo).shape != (64, 64, 3):
            raise InvalidInput(f"inversion needs a 64x64 RGB face, got shape {np.asarray(photo).shape}")
        return invert_photo(self.model, np.asarray(photo, np.uint8), steps=steps)

    def interpolate(self, a: dict, b: dict, frames: int, space: str | None = None) -> np.ndarray:
        """Between two seeds at one prompt (noise slerped), or two prompts at one seed."""
        from ..latent.prompt_edits import interpolate_prompts, interpolate_seeds

        if space is not None:
            raise Unsupported(
                f"{self.card.name} interpolates its starting noise and prompt: it has no latent space to choose"
            )
        ra, rb = self._settings(a), self._settings(b)
        if ra.prompt == rb.prompt:
            return interpolate_seeds(self.model, ra.prompt, ra.seed, rb.seed, frames, ra.steps, ra.guidance,
                                     ra.sampler)  # fmt: skip
        if ra.seed == rb.seed:
            return interpolate_prompts(self.model, ra.prompt, rb.prompt, ra.seed, frames, ra.steps, ra.guidance,
                                       ra.sampler)  # fmt: skip
        raise InvalidInput("interpolate between two seeds at one prompt, or two prompts at one seed")


def _nearby(card: ModelCard, r: Request, run):
    """How a re-roll draws a retry: None, the retry seed's own face; or, where the card says so
    (`reroll_nearby`), a variation of the failed face. A retry of a requested variation (or of a
    face from a start photo) stays the retry seed's own: another variation of the same face."""
    if card.reroll_nearby is None or r.variation_of is not None or r.init_image is not None:
        return None
    return lambda of, batch: run(batch, of, card.reroll_nearby)


def _images(card: ModelCard, r: Request, seeds: list[int], run, callback=None, retry=None,
            **extra) -> list[Image.Image]:  # fmt: skip
    """Faces for `seeds` from `run(seeds)`, re-rolled when asked (a retry drawn by `retry(seeds,
    retry_seeds)` where given: a variation of the failed face at `card.reroll_nearby`), with their
    settings in `info`."""
    if r.reroll:
        from ..quality.reroll import reroll

        arrays, infos = reroll(run, seeds, tries=1 + r.reroll, retry=retry)
    else:
        arrays, infos = run(seeds), [{"seed": s} for s in seeds]
    images = []
    for k, (arr, info) in enumerate(zip(arrays, infos, strict=True)):
        img = Image.fromarray(arr)
        qa = {"qa": info["qa"], "tries": info["tries"]} if "qa" in info else {}
        if info["seed"] != seeds[k]:  # a re-rolled face: its settings repeat it; say which it replaced
            qa["rerolled_from"] = seeds[k]
            if retry is not None:  # a variation of the replaced face: `--from` repeats it as one
                qa |= {"variation_of": seeds[k], "variation_strength": card.reroll_nearby}
        img.info = settings_info(card, r, info["seed"], **extra, **qa)
        images.append(img)
        if callback:
            callback(k + 1, len(arrays), img)
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
    default_truncation=0.85,  # the best FD of the sweep in docs/models/face_gan.md
    capabilities=frozenset(
        {"generate", "edit", "project", "interpolate", "series", "variations", "init-image"}
    ),
    reroll=True,
    default_reroll=GAN_REROLL,
    fixed_size=True,
    max_images=1024,  # one forward pass makes hundreds of faces in well under a second
    honours=frozenset(
        {"gender", "age", "hair_colour", "features", "expression", "light_direction", "light_quality", "film"}
    ),  # fmt: skip
    values={
        "hair_colour": vocab.HAIR_GROUPS["blond"] | vocab.HAIR_GROUPS["black"],
        "expression": vocab.SMILING | vocab.NOT_SMILING,
        "features": vocab.GLASSES,
        "light_direction": frozenset(vocab.LIGHT_SIDES),
        "light_quality": vocab.WARM | vocab.COOL,
        "film": vocab.WARM | vocab.COOL,
    },
    partly={
        "age": f"young (under {vocab.YOUNG_MAX}) or old ({vocab.OLD_MIN} and over) only",
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


# a text-conditioned GAN learnt the captions the diffusion model learnt: it honours the same words
FACE_GAN_TEXT = replace(
    FACE_GAN,
    name="face-gan-text",
    title="portraitist text-conditioned face GAN (shipped)",
    weights=f"shipped in the package ({GAN_TEXT_WEIGHTS.name})",
    best_for="well-formed 64x64 faces from caption-like prompts, instantly; latent edits, interpolation",
    speed="0.05 s for 16 faces on this 2-core CPU (bench/text_to_face.py; docs/models/face_gan_text.md)",
    honours=FACE_DIFFUSION.honours,
    values=FACE_DIFFUSION.values,
    partly=FACE_DIFFUSION.partly,
    guidance=(0.0, 5.0),  # w pushed past the prompt's own average (pipelines/face_gan.py: ws_of)
    default_guidance=1.0,  # none: adherence bought by guidance costs realism (docs/gan.md, measured)
    default_reroll=GAN_TEXT_REROLL,
    notes="A text-conditioned GAN: its mapping network reads the prompt (the captions it was trained "
    "on), truncation pulls towards the prompt's own average face, guidance above 1 pushes past it "
    "(more adherence, less variety), and a negative prompt moves the face away from the negative's "
    "average. Truncation trades variety for quality.",
)


class FaceGANEngine:
    """A shipped GAN (`shipped`: its weights and card), or a GAN file of one's own (`weights`), whose
    card follows the file: a text-conditioned generator reads prompts, an unconditional one is steered."""

    def __init__(self, weights=None, directions=None, shipped: tuple[Path, ModelCard] = (GAN_WEIGHTS, FACE_GAN),
                 ) -> None:  # fmt: skip
        self.weights, self.directions_file = weights, directions
        self.path = Path(weights) if weights else shipped[0]
        self.card = shipped[1] if weights is None else FACE_GAN_TEXT if reads_prompts(self.path) else FACE_GAN
        self._gan = self._directions = None
        self._projections: dict = {}
        self._loading = threading.Lock()

    def availability(self) -> tuple[bool, str]:
        path = self.path
        return (True, "shipped weights present") if path.exists() else (False, f"weights missing at {path}")

    def load(self):
        from ..latent.gan_directions import Directions
        from ..pipelines.face_gan import FaceGAN

        with self._loading:
            if self._gan is None:
                gan = FaceGAN.from_pretrained(self.path)
                path = Path(self.directions_file) if self.directions_file else gan.directions_path
                self._directions = Directions.load(path) if path.exists() else None
                self._gan = gan
        return self._gan, self._directions

    def generate(self, request: Request, callback: Callback | None = None) -> list:
        import torch

        from ..latent import steering

        r = request.resolve(self.card)
        gan, directions = self.load()
        # a text-conditioned GAN reads the prompt itself; an unconditional one is steered by it
        signs = {} if gan.conditional else steering.wanted(r.prompt, r.negative_prompt)
        if signs and directions is None:
            raise EngineUnavailable(f"{gan.name} has no directions file to steer by prompt: run "
                                    f"`portraitist directions --weights {gan.path}`")  # fmt: skip
        seeds = [r.seed + i for i in range(r.n)]

        start = self._projection(r.init_image, r.seed) if r.init_image is not None else None

        def run(batch: list[int], of: list[int] | None = None, strength: float | None = None) -> np.ndarray:
            """The faces of `batch`, or (`of`) variations of those seeds' faces towards them."""
            if start is not None:  # from the photo's projection towards the seeds' faces, then steered
                w = torch.lerp(
                    start.expand(len(batch), -1, -1),
                    self._w(batch, r.truncation, {}, r.prompt, r.negative_prompt, r.guidance)[:, None],
                    r.strength,
                )
                return gan.synthesize(
                    steering.steer(w, directions, signs) if signs else w, [r.seed] * len(batch)
                )
            if of is None and r.variation_of is None:
                w = self._w(batch, r.truncation, signs, r.prompt, r.negative_prompt, r.guidance)
                return gan.synthesize(w, batch)
            if of is None:
                of, strength = [r.variation_of] * len(batch), r.variation_strength
            from ..latent.variations import relatives

            # variations: z slerped towards the batch seeds', the varied faces' noise inputs kept (fine texture)
            w = gan.ws_of(relatives(gan.z, of, batch, strength), r.truncation, r.prompt, r.negative_prompt,
                          r.guidance or 1.0)  # fmt: skip
            return gan.synthesize(steering.steer(w, directions, signs) if signs else w, of)

        return _images(self.card, r, seeds, run, callback, retry=_nearby(self.card, r, run), weights=gan.name,
                       steered=signs or None)  # fmt: skip

    def _projection(self, photo, seed: int):
        """The per-layer w of a start photo (projected once per photo and kept: it takes a while)."""
        key = (photo.digest, seed)
        if key not in self._projections:
            self._projections[key] = self.project(photo.face, steps=PROJECTION_STEPS, seed=seed)[0]
        return self._projections[key]

    def _w(self, seeds: list[int], truncation: float, signs: dict[str, int], prompt: str | None = None,
           negative: str | None = None, guidance: float | None = None):  # fmt: skip
        from ..latent import steering

        gan, directions = self.load()
        w = gan.ws(seeds, truncation, prompt, negative, guidance or 1.0)
        return steering.steer(w, directions, signs) if signs else w

    def _face(self, settings: dict):
        """The w of a generated face, from its saved settings (prompt, negative prompt, seed, truncation)."""
        from ..latent import steering

        r = Request(settings.get("prompt") or "a face", settings.get("negative_prompt"), settings.get("seed"),
                    guidance=settings.get("guidance"), truncation=settings.get("truncation")).resolve(self.card)  # fmt: skip
        gan, _ = self.load()
        signs = {} if gan.conditional else steering.wanted(r.prompt, r.negative_prompt)
        return self._w([r.seed], r.truncation, signs, r.prompt, r.negative_prompt, r.guidance), r.seed

    def edit(self, settings: dict, edits: dict[str, float], latent=None) -> np.ndarray:
        """A generated face (from its saved settings) or a projected photo (`latent`, from `project`)
        moved along the named directions, in standard deviations of W."""
        from ..latent.gan_directions import edit_w

        gan, directions = self.load()
        if directions is None and edits:
            raise EngineUnavailable(f"{gan.name} has no directions file: run `portraitist directions`")
        w, seed = (latent, int(settings.get("seed") or 0)) if latent is not None else self._face(settings)
        names = {vocab.GAN_DIRECTION_OF_EDIT.get(k, k): v for k, v in edits.items()}
        return gan.synthesize(edit_w(w, directions, names) if names else w, [seed])[0]

    def project(self, photo: np.ndarray, steps: int = 300, seed: int = 0):
        """A real 64x64 photo projected into per-layer W: (w, reconstruction, PSNR dB)."""
        from ..latent.gan_directions import project

        gan, _ = self.load()
        return project(gan, photo, steps=steps, seed=seed)

    def interpolate(self, a: dict, b: dict, frames: int, space: str | None = None) -> np.ndarray:
        """From seed a's face to seed b's: lerp in W (default) or slerp in Z; a text-conditioned
        generator also goes from a's prompt to b's (in W)."""
        from ..latent.gan_directions import interpolation_frames

        gan, _ = self.load()
        prompts = (a.get("prompt"), b.get("prompt")) if gan.conditional else (None, None)
        return interpolation_frames(
            gan, int(a.get("seed") or 0), int(b.get("seed") or 0), frames, space or "w", prompts=prompts
        )
