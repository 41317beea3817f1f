"""Every model portraitist can drive, by name: `portraitist models` lists them with their cards
and whether each is usable here now; `get_engine(name)` returns the engine that runs it."""

from __future__ import annotations

from ..errors import InvalidInput
from .base import ModelCard
from .bfl import ENDPOINTS as BFL_MODELS
from .embedded import FACE_DIFFUSION, FACE_GAN, FACE_GAN_TEXT
from .imagen import MODELS as IMAGEN_MODELS
from .open_weights import SPECS

DEFAULT_MODEL = FACE_DIFFUSION.name
# the models this project trains and ships, the default first (the studio lists them in this order)
EMBEDDED = sorted((FACE_DIFFUSION.name, FACE_GAN_TEXT.name, FACE_GAN.name), key=lambda n: n != DEFAULT_MODEL)


def model_names() -> list[str]:
    return [*EMBEDDED, *SPECS, *BFL_MODELS, *IMAGEN_MODELS, "seedream-4"]


def get_engine(name: str, **options):
    """The engine for `name`; options go to its constructor (weights=, allow_download=, http=...)."""
    try:
        return _construct(name, options)
    except TypeError as e:
        if "unexpected keyword argument" not in str(e):
            raise
        given = ", ".join(f"--{k.replace('_', '-')}" for k in options)
        raise InvalidInput(f"{name} does not take {given}: {e}") from None


def _construct(name: str, options: dict):
    name = DEFAULT_MODEL if name == "default" else name
    if name == FACE_DIFFUSION.name:
        from .embedded import FaceDiffusionEngine

        return FaceDiffusionEngine(**options)
    if name in (FACE_GAN.name, "gan"):
        from .embedded import FaceGANEngine

        return FaceGANEngine(**options)
    if name == FACE_GAN_TEXT.name:
        from .embedded import GAN_TEXT_WEIGHTS, FaceGANEngine

        return FaceGANEngine(shipped=(GAN_TEXT_WEIGHTS, FACE_GAN_TEXT), **options)
    if name in SPECS:
        from .open_weights import DiffusersEngine

        return DiffusersEngine(name, **options)
    if name in BFL_MODELS:
        from .bfl import BflEngine

        return BflEngine(name, **options)
    if name in IMAGEN_MODELS:
        from .imagen import ImagenEngine

        return ImagenEngine(name, **options)
    if name == "seedream-4":
        from .seedream import SeedreamEngine

        return SeedreamEngine(name, **options)
    raise InvalidInput(f"unknown model {name!r}; choose from {', '.join(model_names())}")


def list_models(weights: dict[str, str | None] | None = None) -> list[dict]:
    """Each model's card plus `available` and `why` (checked now, nothing loaded or downloaded);
    `weights`: model name -> a weights file replacing the shipped one (its card can differ)."""
    rows = []
    for name in model_names():
        given = (weights or {}).get(name)
        engine = get_engine(name, weights=given) if given else get_engine(name)
        ok, why = engine.availability()
        card: ModelCard = engine.card
        rows.append(card.to_dict() | {"available": ok, "why": why})
    return rows
