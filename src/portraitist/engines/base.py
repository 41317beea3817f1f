"""What every engine shares: a model card, one request shape, and the rules for options a model
cannot honour.

The card declares each setting's range and default; `Request.resolve(card)` is the one place that
checks a request against them and fills in the defaults. The CLI, the Python API, the HTTP API and
the studio (which reads the ranges from `/api/models`) all go through it.

The card also declares what the model can do besides generating (`capabilities`: edit, project,
interpolate, series); callers ask the card, never the model's name, and call the engine's method
of that name (the `Engine` protocol below).

An option the user sets that a model cannot honour (a negative prompt for Imagen 4, a sampler for
a hosted API, 30 steps for a model without steps) is an error that names the model and what it
does accept: silently dropping it would leave the user believing it worked. Prompt *parts* a model
cannot honour ("85mm f/1.4" for a 64x64 model) are not errors, since a prompt is free text, but
`coverage` lists them so the studio and the CLI can show them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Protocol

import numpy as np
from PIL import Image

from ..errors import InvalidInput, Unsupported
from ..prompting.brief import PortraitBrief
from ..reference import Reference, StartImage

MAX_PROMPT_CHARS = 2000
MAX_IMAGES = 64
MAX_REROLL = 8
MAX_SEED = 2**53  # exact in JSON (the HTTP API) and far from torch's 2^63 after re-roll offsets
# "reference": portraits of the person in a reference face (reference.py); "series": one person
# in several portraits (from a reference face, or from a seed's face)
# "variations": near relatives of a face (its seed's noise mixed with new seeds', latent/variations.py);
# "init-image": start from a photo (diffusion: SDEdit; GAN: from the photo's projection);
# "invert": start from the photo inverted rather than noised, which keeps its person (diffusion/inversion.py)
# "branch": draw the first steps under another prompt (a seed's face for it, then the prompt)
CAPABILITIES = (
    "generate",
    "edit",
    "project",
    "interpolate",
    "series",
    "reference",
    "variations",
    "init-image",
    "invert",
    "branch",
)
DEFAULT_INIT_STRENGTH = 0.6
DEFAULT_VARIATION_STRENGTH = 0.2

# Parts of a brief, as `coverage` reports them (PortraitBrief field names).
PROMPT_PARTS = (
    "shot", "gender", "age", "ethnicity", "hair_colour", "eye_colour", "features", "expression",
    "light_direction", "light_quality", "focal_length_mm", "aperture", "film", "quality",
)  # fmt: skip
ALL_PARTS = frozenset(PROMPT_PARTS)


@dataclass(frozen=True)
class ModelCard:
    name: str
    title: str
    engine: str  # "embedded" | "open-weights" | "hosted"
    best_for: str
    style: str
    native_resolution: str
    speed: str  # measured here where it runs here, else says so
    negative_prompt: str  # "yes" | "true-cfg" (costs a second pass) | "no"
    licence: str
    weights: str  # where the weights come from
    seed: bool = True
    steps: tuple[int, int] | None = (1, 200)  # allowed range, None = fixed by the provider
    guidance: tuple[float, float] | None = (0.0, 30.0)
    samplers: tuple[str, ...] = ()
    truncation: tuple[float, float] | None = None  # GANs: how far faces are pulled to the average
    default_steps: int | None = None  # None: the provider's own
    default_guidance: float | None = None
    default_sampler: str | None = None
    default_truncation: float | None = None
    identity_guidance: tuple[float, float] | None = None  # with a reference face: its own scale
    capabilities: frozenset[str] = frozenset({"generate"})
    reroll: bool = False  # can re-roll faces that fail the QA instruments (64x64 models here)
    default_reroll: int = 0  # extra tries a face failing QA gets unless the request says otherwise
    # a retry's face: None, the retry seed's own; S, a variation of the failed face at strength S
    # (its z slerped S of the way to the retry seed's), which keeps whom the seed drew
    reroll_nearby: float | None = None
    fixed_size: bool = False  # makes native_resolution only (no width / height)
    max_images: int = MAX_IMAGES
    honours: frozenset[str] = ALL_PARTS
    partly: dict[str, str] = field(default_factory=dict)  # part -> what of it is honoured
    values: dict[str, frozenset[str]] = field(default_factory=dict)  # part -> the values it knows
    notes: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["honours"] = sorted(self.honours)
        d["capabilities"] = [c for c in CAPABILITIES if c in self.capabilities]
        d["limits"] = {"prompt_chars": MAX_PROMPT_CHARS, "max_images": self.max_images, "max_seed": MAX_SEED,
                       "max_reroll": MAX_REROLL if self.reroll else 0}  # fmt: skip
        d["values"] = {k: sorted(v) for k, v in self.values.items()}
        return d


@dataclass
class Request:
    prompt: str
    negative_prompt: str | None = None
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    sampler: str | None = None
    n: int = 1
    width: int | None = None
    height: int | None = None
    truncation: float | None = None
    reroll: int | None = None  # regenerate faces failing QA up to this many more times (None: the card's)
    reference: Reference | None = None  # the person to portray (capability "reference")
    identity_guidance: float | None = None  # None: the text's guidance scale
    variation_of: int | None = None  # the seed whose face the images vary (capability "variations")
    variation_strength: float | None = None  # 0: that face, 1: the new seeds' own faces
    style: str | None = None  # a named look (prompting/styles.py), applied to prompt and negative
    init_image: StartImage | None = None  # a photo to start from (capability "init-image")
    strength: float | None = None  # with init_image: 0 keeps the photo, 1 ignores it
    invert: bool = False  # with init_image: start from its inversion, not from it noised (keeps the person)
    # the prompt the first steps follow (capability "branch"): `strength` of the steps are the prompt's
    branch_from: str | None = None

    def resolve(self, card: ModelCard) -> Request:
        """This request checked against `card` and with its defaults filled in: InvalidInput for
        absurd settings, Unsupported for ones this model cannot honour. A style is applied here
        (applying it again changes nothing)."""
        prompt, negative, branch_from = self.prompt, self.negative_prompt, self.branch_from
        if self.style is not None:
            from ..prompting.styles import style

            if not isinstance(prompt, str) or not isinstance(negative, str | None):
                raise InvalidInput("the prompt and the negative prompt must be text")
            if prompt.strip():  # an empty prompt stays empty, and is refused below
                prompt, negative = style(str(self.style)).apply(prompt, negative)
            if isinstance(branch_from, str) and branch_from.strip():  # the same look on both paths
                branch_from = style(str(self.style)).apply(branch_from, None)[0]
        check_request(card, replace(self, prompt=prompt, negative_prompt=negative, branch_from=branch_from))
        return replace(
            self,
            prompt=prompt,
            negative_prompt=negative or None,
            branch_from=branch_from,
            seed=int(self.seed) if self.seed is not None else (0 if card.seed else None),
            steps=int(self.steps) if self.steps is not None else card.default_steps,
            guidance=float(self.guidance) if self.guidance is not None else card.default_guidance,
            sampler=self.sampler or card.default_sampler,
            n=int(self.n),
            truncation=float(self.truncation) if self.truncation is not None else card.default_truncation,
            reroll=int(self.reroll) if self.reroll is not None else card.default_reroll,
            identity_guidance=float(self.identity_guidance) if self.identity_guidance is not None else None,
            variation_of=int(self.variation_of) if self.variation_of is not None else None,
            variation_strength=(
                None if self.variation_of is None
                else float(self.variation_strength) if self.variation_strength is not None
                else DEFAULT_VARIATION_STRENGTH
            ),
            strength=(
                float(self.strength) if self.strength is not None and (self.init_image or self.branch_from)
                else DEFAULT_INIT_STRENGTH if self.init_image is not None
                else None  # a branch's depth by prompt is the engine's to choose
            ),
            invert=bool(self.invert),
        )  # fmt: skip


def number(value, kind: type, name: str):
    """`value` as an int or float, or InvalidInput naming the setting (also for NaN and booleans)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInput(f"{name} must be a number, got {value!r}")
    try:
        out = kind(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a number, got {value!r}") from None
    if kind is int and isinstance(value, float) and value != out:
        raise InvalidInput(f"{name} must be a whole number, got {value!r}")
    if out != out:  # NaN
        raise InvalidInput(f"{name} must be a number, got NaN")
    return out


def check_range(card: ModelCard, value, allowed, unsupported: str, shape: str, kind: type) -> None:
    """A setting the card may not take (Unsupported) or takes within `allowed` = (lo, hi)
    (InvalidInput); `shape` words the range, e.g. "{} steps"."""
    if value is None:
        return
    if allowed is None:
        raise Unsupported(f"{card.name} {unsupported}")
    lo, hi = allowed
    if not lo <= number(value, kind, shape.format("").strip()) <= hi:
        raise InvalidInput(f"{card.name} takes {shape.format(f'{lo:g} to {hi:g}')}, not {value}")


def check_seed(value, name: str) -> None:
    if value is not None and not 0 <= number(value, int, name) < MAX_SEED:
        raise InvalidInput(f"{name} must be a non-negative integer below 2^53, got {value}")


def check_request(card: ModelCard, r: Request) -> None:
    """Raise InvalidInput for absurd settings and Unsupported for ones this model cannot honour
    (`Request.resolve` calls this; use that)."""
    if not isinstance(r.prompt, str) or not r.prompt.strip():
        raise InvalidInput("the prompt is empty: describe the face to generate")
    if r.negative_prompt is not None and not isinstance(r.negative_prompt, str):
        raise InvalidInput("the negative prompt must be text")
    for name, text in (("prompt", r.prompt), ("negative prompt", r.negative_prompt or "")):
        if len(text) > MAX_PROMPT_CHARS:
            raise InvalidInput(f"the {name} has {len(text)} characters; the limit is {MAX_PROMPT_CHARS}")
    if not 1 <= number(r.n, int, "the number of images") <= card.max_images:
        raise InvalidInput(f"{card.name} makes 1 to {card.max_images} images a request, not {r.n}")
    check_seed(r.seed, "the seed")
    if r.negative_prompt and card.negative_prompt == "no":
        raise Unsupported(f"{card.name} has no negative prompt: remove --negative, or choose a model "
                          "that supports one (see `portraitist models`)")  # fmt: skip
    if r.seed is not None and not card.seed:
        raise Unsupported(f"{card.name} does not take a seed: its results cannot be repeated")
    check_range(
        card, r.steps, card.steps, "does not take a step count (the provider fixes it)", "{} steps", int
    )
    check_range(card, r.guidance, card.guidance, "does not take a guidance scale", "guidance {}", float)
    if (r.width or r.height) and card.fixed_size:
        raise Unsupported(f"{card.name} makes {card.native_resolution} faces only; enlarge them for "
                          "viewing with --upscale instead")  # fmt: skip
    check_range(card, r.truncation, card.truncation, "has no truncation setting (it is not a GAN)",
                "truncation {}", float)  # fmt: skip
    if r.reroll:
        if not card.reroll:
            raise Unsupported(f"{card.name} cannot re-roll: the QA instruments check 64x64 faces from "
                              "the models this project ships")  # fmt: skip
        if not 0 <= number(r.reroll, int, "re-roll") <= MAX_REROLL:
            raise InvalidInput(f"re-roll takes 0 to {MAX_REROLL} extra tries, not {r.reroll}")
    if r.reference is not None and not isinstance(r.reference, Reference):
        raise InvalidInput("the reference face must be a Reference (Reference.from_file / from_image)")
    if r.reference is not None and "reference" not in card.capabilities:
        raise Unsupported(f"{card.name} cannot take a reference face: its weights have no identity input "
                          "(models that can: see `portraitist models`)")  # fmt: skip
    if r.identity_guidance is not None and r.reference is None:
        raise InvalidInput("identity guidance needs a reference face")
    check_range(card, r.identity_guidance, card.identity_guidance, "has no identity guidance",
                "identity guidance {}", float)  # fmt: skip
    if r.variation_of is not None:
        require(card, "variations")
        check_seed(r.variation_of, "the variation seed")
    if r.variation_strength is not None:
        if r.variation_of is None:
            raise InvalidInput("a variation strength needs the seed to vary (variation_of)")
        if not 0 <= number(r.variation_strength, float, "the variation strength") <= 1:
            raise InvalidInput(f"the variation strength must be between 0 and 1, got {r.variation_strength}")
    if r.init_image is not None:
        if not isinstance(r.init_image, StartImage):
            raise InvalidInput("the start image must be a StartImage (StartImage.from_file / from_image)")
        require(card, "init-image")
    if r.branch_from is not None:
        require(card, "branch")
        if not isinstance(r.branch_from, str) or not r.branch_from.strip():
            raise InvalidInput("the prompt to branch from must be non-empty text")
        if len(r.branch_from) > MAX_PROMPT_CHARS:
            raise InvalidInput(f"the prompt to branch from is longer than {MAX_PROMPT_CHARS} characters")
        if r.init_image is not None:
            raise InvalidInput("start from a photo or branch from a prompt, not both")
    if r.strength is not None:
        if r.init_image is None and r.branch_from is None:
            raise InvalidInput("a strength needs a start image (init_image) or a prompt to branch from")
        if not 0 <= number(r.strength, float, "the strength") <= 1:
            raise InvalidInput(f"the strength must be between 0 and 1, got {r.strength}")
    if r.invert is not False:
        if not isinstance(r.invert, bool):
            raise InvalidInput(f"invert must be true or false, got {r.invert!r}")
        if r.init_image is None:
            raise InvalidInput("invert needs a start image (init_image) to invert")
        require(card, "invert")
        if int(r.n) > 1:
            raise InvalidInput(
                "a start from a photo's inversion is the same whatever the seed: ask for one image"
            )
    if r.sampler is not None and r.sampler not in card.samplers:
        allowed = ", ".join(card.samplers) if card.samplers else "none (the provider fixes it)"
        raise Unsupported(f"{card.name} has no sampler {r.sampler!r}; it offers: {allowed}")


def coverage(card: ModelCard, prompt: str, negative_prompt: str | None = None) -> list[dict]:
    """For each part of the prompt the parser recognises: can this model honour it?"""
    brief = PortraitBrief.parse(prompt)
    rows = []
    for part in PROMPT_PARTS:
        value = getattr(brief, part)
        if value in (None, []):
            continue
        known = card.values.get(part)
        if known is not None:
            asked = [v.lower() for v in (value if isinstance(value, list) else [str(value)])]
            hits = sum(v in known for v in asked)
            status = "yes" if hits == len(asked) else "partly" if hits else "no"
            why = "" if status == "yes" else card.partly.get(part, "")
        elif part in card.partly:
            status, why = "partly", card.partly[part]
        elif part in card.honours:
            status, why = "yes", ""
        else:
            status, why = "no", f"{card.name} was not trained to follow it"
        rows.append({"part": part, "value": value, "honoured": status, "note": why})
    if brief.extra:
        rows.append({"part": "other words", "value": brief.extra, "honoured": "unknown",
                     "note": "not a part the brief knows; the model may or may not follow it"})  # fmt: skip
    if negative_prompt:
        status = {"yes": "yes", "true-cfg": "yes", "no": "no"}[card.negative_prompt]
        note = "true CFG: a second pass per step" if card.negative_prompt == "true-cfg" else ""
        rows.append({"part": "negative prompt", "value": negative_prompt, "honoured": status, "note": note})
    return rows


STYLE_BASE_PROMPT = "portrait photo of a person"


def style_gaps(card: ModelCard, style) -> list[dict]:
    """The coverage rows of the parts a style (prompting/styles.py) adds that `card` cannot fully
    honour: the style applied to a plain prompt, less what that plain prompt already lacks."""
    unmet = lambda p, n: [r for r in coverage(card, p, n) if r["honoured"] in ("no", "partly")]  # noqa: E731
    plain = {r["part"] for r in unmet(STYLE_BASE_PROMPT, None)}
    return [r for r in unmet(*style.apply(STYLE_BASE_PROMPT, None)) if r["part"] not in plain]


Callback = Callable[[int, int, "Image.Image | None"], None]  # (step, total, preview or None)


class Engine(Protocol):
    """Every engine generates; the others methods exist where the card lists the capability."""

    card: ModelCard

    def availability(self) -> tuple[bool, str]:
        """(usable here now, why or why not)."""
        ...

    def generate(self, request: Request, callback: Callback | None = None) -> list[Image.Image]:
        """Images with their settings in `image.info` (saved into PNG text chunks)."""
        ...

    def edit(self, settings: dict, edits: dict[str, float], latent=None) -> np.ndarray:
        """capability "edit": the face `settings` made (or `latent`, from `project`), moved along
        the named directions (vocabulary.EDITS)."""
        ...

    def project(self, photo: np.ndarray, steps: int, seed: int) -> tuple[object, np.ndarray, float]:
        """capability "project": a real photo -> (its latent, the reconstruction, PSNR in dB)."""
        ...

    def interpolate(self, a: dict, b: dict, frames: int, space: str | None = None) -> np.ndarray:
        """capability "interpolate": frames from the face of settings `a` to that of `b`."""
        ...


def require(card: ModelCard, capability: str) -> None:
    """Unsupported, naming the models that can, unless `card` declares `capability`."""
    if capability not in card.capabilities:
        doing = {"series": "make a series of one person", "reference": "take a reference face",
                 "variations": "make variations of a face", "init-image": "start from a photo",
                 "invert": "start from a photo's inversion", "branch": "branch from another prompt"}  # fmt: skip
        raise Unsupported(f"{card.name} cannot {doing.get(capability, capability + ' faces')}; models that can: "
                          "see `portraitist models`")  # fmt: skip


def settings_info(card: ModelCard, r: Request, seed: int | None, **extra) -> dict:
    """The `image.info` every engine writes: every setting that made the image."""
    info = {
        "prompt": r.prompt,
        "negative_prompt": r.negative_prompt or None,
        "model": card.name,
        "engine": card.engine,
        "seed": seed,
        "steps": r.steps,
        "guidance": r.guidance,
        "sampler": r.sampler,
        "truncation": r.truncation,
        "native_resolution": card.native_resolution,
        "identity_guidance": r.identity_guidance,
        "variation_of": r.variation_of,
        "variation_strength": r.variation_strength,
        "style": r.style,
        "strength": r.strength,
        "invert": r.invert or None,  # recorded only when used
        "branch_from": r.branch_from,
    }
    if r.reference is not None:
        info |= r.reference.to_settings()
    if r.init_image is not None:
        info |= r.init_image.to_settings()
    return {k: v for k, v in (info | extra).items() if v is not None}
