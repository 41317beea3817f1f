"""Open-weight models through diffusers: Stable Diffusion 3.5, FLUX.1, SDXL, Realistic Vision.

Weights come from, in order: `weights=` (a folder saved by `save_pretrained` or a hub snapshot),
`$PORTRAITIST_MODELS/<name>`, the Hugging Face cache, or - only when the user is online and has
accepted the model's licence on the hub - a download. Nothing here downloads unless asked to
(`allow_download=True`, or `portraitist generate --model NAME --download`).

Negative prompts: SD 3.5, SDXL and SD 1.5 take one natively (it replaces the unconditional
branch of classifier-free guidance). FLUX.1 is guidance-distilled and has no unconditional branch;
a negative prompt there switches on "true CFG" (`true_cfg_scale`), a second transformer pass per
step, which the model card says.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import EngineUnavailable, InvalidInput, Unsupported
from .base import Callback, ModelCard, Request, check_request, settings_info

EPS_SAMPLERS = ("ddim", "dpmpp_2m", "euler", "euler_a", "heun")
FLOW_SAMPLERS = ("dpmpp_2m", "euler", "heun")
TRUE_CFG_SCALE = 4.0  # FLUX true-CFG strength when a negative prompt is given
NOT_MEASURED = "not measured here: needs its weights (GBs) and a GPU; on 2 CPU cores expect minutes a face"


@dataclass(frozen=True)
class Spec:
    card: ModelCard
    repo: str
    pipeline: str  # diffusers class name
    flow: bool  # rectified-flow model (SD3, FLUX) or epsilon-prediction (SD 1.5, SDXL)
    steps: int
    guidance: float
    size: int


def _spec(name: str, title: str, repo: str, pipeline: str, flow: bool, steps: int, guidance: float, size: int,
          best_for: str, style: str, negative: str, licence: str, guidance_range=(0.0, 30.0), notes: str = "") -> Spec:  # fmt: skip
    card = ModelCard(
        name=name, title=title, engine="open-weights", best_for=best_for, style=style,
        native_resolution=f"{size}x{size}", speed=NOT_MEASURED, negative_prompt=negative, licence=licence,
        weights=f"Hugging Face hub: {repo} (or a local folder)", guidance=guidance_range,
        samplers=FLOW_SAMPLERS if flow else EPS_SAMPLERS, max_images=8, notes=notes,
        partly={"focal_length_mm": "as a style cue, not optics", "aperture": "as a style cue (background blur)"},
    )  # fmt: skip
    return Spec(card, repo, pipeline, flow, steps, guidance, size)


SPECS = {
    s.card.name: s
    for s in (
        _spec("sd3.5-large", "Stable Diffusion 3.5 Large", "stabilityai/stable-diffusion-3.5-large",
              "StableDiffusion3Pipeline", flow=True, steps=28, guidance=3.5, size=1024,
              best_for="prompt-faithful photoreal portraits", style="photographic to illustrative",
              negative="yes", licence="Stability AI Community License"),
        _spec("sd3.5-medium", "Stable Diffusion 3.5 Medium", "stabilityai/stable-diffusion-3.5-medium",
              "StableDiffusion3Pipeline", flow=True, steps=40, guidance=4.5, size=1024,
              best_for="portraits on a consumer GPU", style="photographic to illustrative",
              negative="yes", licence="Stability AI Community License"),
        _spec("flux.1-dev", "FLUX.1 [dev]", "black-forest-labs/FLUX.1-dev", "FluxPipeline",
              flow=True, steps=28, guidance=3.5, size=1024,
              best_for="the most photoreal open portraits, skin and hair detail", style="photographic",
              negative="true-cfg", licence="FLUX.1 [dev] Non-Commercial License", guidance_range=(0.0, 10.0),
              notes="guidance-distilled: `guidance` is the distilled scale; a negative prompt costs a second pass"),
        _spec("flux.1-schnell", "FLUX.1 [schnell]", "black-forest-labs/FLUX.1-schnell", "FluxPipeline",
              flow=True, steps=4, guidance=0.0, size=1024, best_for="fast drafts in 1-4 steps",
              style="photographic", negative="true-cfg", licence="Apache-2.0", guidance_range=(0.0, 0.0),
              notes="timestep-distilled: guidance must be 0; 4 steps"),
        _spec("sdxl", "Stable Diffusion XL 1.0", "stabilityai/stable-diffusion-xl-base-1.0",
              "StableDiffusionXLPipeline", flow=False, steps=30, guidance=6.0, size=1024,
              best_for="a large ecosystem of portrait fine-tunes and LoRAs", style="photographic to illustrative",
              negative="yes", licence="CreativeML Open RAIL++-M"),
        _spec("realistic-vision-5.1", "Realistic Vision v5.1", "SG161222/Realistic_Vision_V5.1_noVAE",
              "StableDiffusionPipeline", flow=False, steps=25, guidance=5.0, size=512,
              best_for="photoreal people at SD 1.5 cost", style="photographic, film-like",
              negative="yes", licence="CreativeML Open RAIL-M"),
    )
}  # fmt: skip


def local_weights(spec: Spec, weights: str | os.PathLike | None = None) -> Path | None:
    """The folder holding this model's diffusers weights on this machine, or None."""
    candidates = [Path(weights)] if weights else []
    if os.environ.get("PORTRAITIST_MODELS"):
        candidates.append(Path(os.environ["PORTRAITIST_MODELS"]) / spec.card.name)
    for folder in candidates:
        if (folder / "model_index.json").is_file():
            return folder
    if weights:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(spec.repo, "model_index.json")
    except ImportError:
        return None
    return Path(found).parent if isinstance(found, str) else None


def make_scheduler(spec: Spec, sampler: str, config: dict):
    import diffusers

    if spec.flow:
        if sampler == "euler":
            return diffusers.FlowMatchEulerDiscreteScheduler.from_config(config)
        if sampler == "heun":
            return diffusers.FlowMatchHeunDiscreteScheduler.from_config(config)
        if sampler == "dpmpp_2m":
            return diffusers.DPMSolverMultistepScheduler.from_config(
                config, use_flow_sigmas=True, prediction_type="flow_prediction",
                flow_shift=config.get("shift", 3.0),
            )  # fmt: skip
    else:
        classes = {
            "ddim": diffusers.DDIMScheduler,
            "dpmpp_2m": diffusers.DPMSolverMultistepScheduler,
            "euler": diffusers.EulerDiscreteScheduler,
            "euler_a": diffusers.EulerAncestralDiscreteScheduler,
            "heun": diffusers.HeunDiscreteScheduler,
        }
        if sampler in classes:
            return classes[sampler].from_config(config)
    raise Unsupported(
        f"{spec.card.name} has no sampler {sampler!r}; it offers: {', '.join(spec.card.samplers)}"
    )


class DiffusersEngine:
    def __init__(self, name: str, weights: str | os.PathLike | None = None, allow_download: bool = False,
                 device: str | None = None) -> None:  # fmt: skip
        if name not in SPECS:
            raise InvalidInput(f"unknown open-weight model {name!r}; choose from {', '.join(SPECS)}")
        self.spec = SPECS[name]
        self.card = self.spec.card
        self.weights, self.allow_download, self.device = weights, allow_download, device
        self._pipe = None

    def availability(self) -> tuple[bool, str]:
        if importlib.util.find_spec("diffusers") is None:
            return False, "needs diffusers: pip install 'portraitist[open-weights]'"
        folder = local_weights(self.spec, self.weights)
        if folder:
            return True, f"weights at {folder}"
        where = (
            f"{self.weights}" if self.weights else f"$PORTRAITIST_MODELS/{self.card.name} or the hub cache"
        )
        return False, f"no weights in {where}; download {self.spec.repo} (licence: {self.card.licence})"

    def pipeline(self):
        if self._pipe is not None:
            return self._pipe
        ok, why = self.availability()
        if not ok and not (self.allow_download and importlib.util.find_spec("diffusers")):
            raise EngineUnavailable(f"{self.card.name}: {why}")
        import diffusers
        import torch

        source = local_weights(self.spec, self.weights) or self.spec.repo
        cls = getattr(diffusers, self.spec.pipeline)
        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if device == "cuda" else torch.float32
        kwargs = (
            {"safety_checker": None, "requires_safety_checker": False}
            if self.spec.pipeline == "StableDiffusionPipeline"
            else {}
        )
        pipe = cls.from_pretrained(source, torch_dtype=dtype, local_files_only=source != self.spec.repo, **kwargs)  # fmt: skip
        self._pipe = pipe.to(device)
        self._scheduler_config = dict(pipe.scheduler.config)  # every sampler is built from the model's own
        return self._pipe

    def generate(self, request: Request, callback: Callback | None = None) -> list:
        import torch

        check_request(self.card, request)
        spec, pipe = self.spec, self.pipeline()
        sampler = request.sampler or "euler"
        pipe.scheduler = make_scheduler(spec, sampler, self._scheduler_config)
        steps = request.steps or spec.steps
        guidance = spec.guidance if request.guidance is None else float(request.guidance)
        size = request.width or spec.size, request.height or spec.size
        seed = 0 if request.seed is None else int(request.seed)
        kwargs = {"prompt": request.prompt, "num_inference_steps": steps, "guidance_scale": guidance,
                  "width": size[0], "height": size[1], "output_type": "pil"}  # fmt: skip
        if request.negative_prompt:
            kwargs["negative_prompt"] = request.negative_prompt
            if self.card.negative_prompt == "true-cfg":
                kwargs["true_cfg_scale"] = TRUE_CFG_SCALE
        if callback:

            def on_step(_pipe, i, _t, tensors):  # diffusers' callback_on_step_end
                callback(i + 1, steps, None)
                return tensors

            kwargs["callback_on_step_end"] = on_step
        images = []
        for k in range(request.n):  # one generator per image: image k is the same alone or in a batch
            generator = torch.Generator("cpu").manual_seed(seed + k)
            image = pipe(generator=generator, **kwargs).images[0]
            image.info = settings_info(self.card, request, seed + k, steps=steps, guidance=guidance,
                                       sampler=sampler, size=f"{size[0]}x{size[1]}")  # fmt: skip
            images.append(image)
        return images
