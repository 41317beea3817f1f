"""The text-to-face latent diffusion pipeline: its configuration, its file format and its inference.

    pipe = FaceDiffusion.from_pretrained()            # the shipped model (or a path)
    faces = pipe(["a smiling woman"], None, steps=8, guidance=3.0, seeds=[0], sampler="dpmpp_2m")
    pipe.save_pretrained("runs/my_model.safetensors")  # every constructor argument saved beside the weights

`from_pretrained` builds the networks from the configuration `save_pretrained` wrote and from
nothing else; files written before configurations were saved go through `upgrade_legacy`, once,
here. Defaults and ranges of a request are not the pipeline's: they live on the model card
(engines/embedded.py) and are checked by `Request.resolve`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..checkpoints import CheckpointError, load_exported, save_weights
from ..diffusion.edm import Denoiser, karras_sigmas
from ..diffusion.guidance import autoguided, branched, guided
from ..diffusion.inversion import INVERSION_PROMPT, invert
from ..diffusion.samplers import SAMPLERS
from ..errors import InvalidInput
from ..nets.autoencoder import Autoencoder
from ..nets.unet import UNet
from ..paths import WEIGHTS_DIR
from ..text import TextEncoder
from ..vocabulary import split_negations

WEIGHTS = WEIGHTS_DIR / "face_diffusion.safetensors"
KIND = "latent-diffusion"


@dataclass
class FaceDiffusionConfig:
    """Everything needed to rebuild the networks: the autoencoder's and the UNet's constructor
    arguments, and how sigma enters the denoiser."""

    autoencoder: dict = field(default_factory=lambda: {"ch": 64, "latent": 4, "factor": 4})
    unet: dict = field(default_factory=lambda: UNet().config)
    formulation: str = "edm"
    sigma_data: float = 1.0
    # noise levels (lo, hi] where guidance applies; None: all (diffusion/guidance.py)
    guidance_interval: tuple[float, float] | None = None

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        side = 64 // int(self.autoencoder.get("factor", 4))
        return (int(self.autoencoder.get("latent", 4)), side, side)


def upgrade_legacy(meta: dict) -> FaceDiffusionConfig:
    """The configuration of a file written before configurations were saved: such files kept only
    the UNet's width; everything else had the values of that time (16x16x4 latents, width-64
    autoencoder, UNet levels (1, 2, 2) with attention at 4x4)."""
    if "config" in meta:
        return FaceDiffusionConfig(**meta["config"])
    unet = UNet().config | {"ch": int(meta.get("unet", {}).get("ch", 64))}
    return FaceDiffusionConfig(
        unet=unet,
        formulation=str(meta.get("formulation", "edm")).lower(),
        sigma_data=float(meta.get("sigma_data", 1.0)),
    )


@dataclass
class FaceDiffusion:
    autoencoder: Autoencoder
    denoiser: Denoiser
    meta: dict
    name: str = "face_diffusion"
    text: TextEncoder = field(default_factory=TextEncoder)

    guidance_interval: tuple[float, float] | None = None
    # autoguidance: a weaker model of the same latent space guides instead of the unconditional branch
    weak: Denoiser | None = None

    @property
    def config(self) -> FaceDiffusionConfig:
        return FaceDiffusionConfig(
            dict(self.autoencoder.config), dict(self.denoiser.net.config),
            self.denoiser.formulation, float(self.denoiser.sigma_data), self.guidance_interval,
        )  # fmt: skip

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        return self.config.latent_shape

    @classmethod
    def from_config(cls, config: FaceDiffusionConfig, meta: dict | None = None, name: str = "face_diffusion"):
        """Fresh (untrained) networks of this configuration."""
        ae = Autoencoder(**config.autoencoder)
        denoiser = Denoiser(UNet(**config.unet), config.sigma_data, config.formulation)
        interval = tuple(config.guidance_interval) if config.guidance_interval else None
        return cls(ae, denoiser, meta or {}, name=name, guidance_interval=interval)

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None) -> FaceDiffusion:
        path = Path(path) if path else WEIGHTS
        tensors, meta = load_exported(path, KIND, "diffusion weights", "diffusion")
        pipe = cls.from_config(upgrade_legacy(meta), meta, name=path.stem)
        for prefix, module in (("autoencoder.", pipe.autoencoder), ("unet.", pipe.denoiser.net)):
            own = {k[len(prefix) :]: v.float() for k, v in tensors.items() if k.startswith(prefix)}
            try:
                module.load_state_dict(own)
            except RuntimeError as e:
                raise CheckpointError(f"{path} does not fit its declared configuration: {e}") from e
        pipe.autoencoder.eval().requires_grad_(False)
        pipe.denoiser.eval().requires_grad_(False)
        return pipe

    def save_pretrained(self, path: str | Path, **meta) -> Path:
        """Weights (float16) with the configuration and `meta` (training record) in the header."""
        tensors = {f"autoencoder.{k}": v for k, v in self.autoencoder.state_dict().items()}
        tensors |= {f"unet.{k}": v for k, v in self.denoiser.net.state_dict().items()}
        header = {"kind": KIND, "config": asdict(self.config)} | meta
        return save_weights(tensors, path, header, dtype=torch.float16)

    def initial_noise(self, seeds: list[int]) -> torch.Tensor:
        """Each seed's starting noise, the same whatever batch it is generated in."""
        shape = self.latent_shape
        return torch.stack(
            [torch.randn(*shape, generator=torch.Generator().manual_seed(int(s))) for s in seeds]
        )

    def to_uint8(self, z: torch.Tensor) -> np.ndarray:
        x = self.autoencoder.decode(z)
        return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()

    @property
    def takes_reference(self) -> bool:
        """Whether the denoiser has an identity input (portraits of the person in a reference face)."""
        return bool(getattr(self.denoiser.net, "id_dim", 0))

    @torch.inference_mode()
    def __call__(self, prompt, negative_prompt, steps, guidance, seeds, sampler, callback=None,
                 identity=None, identity_scale=None, noise=None, init=None, strength: float = 1.0,
                 invert_init: bool = False, branch_from: str | None = None) -> np.ndarray:  # fmt: skip
        """One face per seed; `prompt` and `negative_prompt` are one text for all, or a list with one
        text per seed. Negated phrases ("without glasses") move from the prompt to its negative prompt.
        `identity`: reference-face embeddings (1 or N, 128) from `quality.identity.reference_embedding`;
        `noise` (N, *latent_shape) replaces the seeds' starting noise (variations); `init`, `strength`:
        start from these faces (see `sample`); `branch_from`: a prompt the first steps are drawn under
        (see `sample`)."""
        n = len(seeds)
        prompts = [prompt] * n if isinstance(prompt, str) else list(prompt)
        given = list(negative_prompt) if isinstance(negative_prompt, list | tuple) else [negative_prompt] * n
        if len(prompts) != n or len(given) != n:
            raise ValueError(f"{len(prompts)} prompts and {len(given)} negative prompts for {n} seeds")
        split = [split_negations(p) for p in prompts]
        negatives = [
            ", ".join(filter(None, [neg, *negated])) for neg, (_, negated) in zip(given, split, strict=True)
        ]
        # one negative per face, each distinct text encoded once; the learnt "no prompt" where none
        texts = sorted({t for t in negatives if t})
        embedded = dict(zip(texts, self.text.encode(texts), strict=True)) if texts else {}
        null = self.denoiser.net.null_text.reshape(-1)
        negative = torch.stack([embedded[t] if t else null for t in negatives])
        cond = self.text.encode([rest for rest, _ in split])
        return self.sample(
            cond,
            negative,
            steps,
            guidance,
            seeds,
            sampler,
            callback,
            noise,
            identity,
            identity_scale,
            init,
            strength,
            invert_init,
            None if branch_from is None else self.text.encode([branch_from]).expand(n, -1),
        )

    generate_seeds = __call__  # the name the latent-space tools and benches use

    @torch.inference_mode()
    def sample(self, cond, negative, steps, guidance, seeds, sampler, callback=None, noise=None,
               identity=None, identity_scale=None, init=None, strength: float = 1.0,
               invert_init: bool = False, branch_from=None) -> np.ndarray:  # fmt: skip
        """Faces from prompt embeddings (N, 384) rather than text: what latent-space edits and prompt
        interpolation use. `negative` is one embedding (1, 384), one per face (N, 384), or None for
        the learnt "no prompt"; `noise` (N, *latent_shape) replaces the seeds' initial noise.
        `identity` (1 or N, 128): the reference face, guided at `identity_scale` (None: as the text).
        `init` (1 or N, 64, 64, 3 uint8): faces to start from (SDEdit): encoded, noised to the level
        `strength` of the way up the schedule, then denoised by the last round(strength * steps)
        steps; strength 1 starts from (almost) pure noise, 0 returns the encoded face. With
        `invert_init` the face is inverted to that level instead of noised (diffusion/inversion.py:
        deterministic, the seeds unused), which keeps much more of a real face's person.
        `branch_from` (N, 384): without `init`, the first steps are drawn under this prompt and the
        last round(strength * steps) under `cond`: the face the seed makes for that prompt, taken
        off its own path at that level (a series from a seed keeps its person this way)."""
        n = len(seeds)
        net = self.denoiser.net
        negative = (negative if negative is not None else net.null_text).expand(n, -1)
        sigmas = karras_sigmas(steps)
        if noise is None:
            noise = self.initial_noise(seeds)
        if identity is not None:
            identity = torch.as_tensor(np.asarray(identity, np.float32))
            identity = identity.reshape(-1, identity.shape[-1]).expand(n, -1)
        if self.weak is not None:  # autoguidance (diffusion/guidance.py); negative prompts have no branch
            if negative is not net.null_text.expand(n, -1) and not torch.equal(
                negative, net.null_text.expand(n, -1)
            ):
                raise InvalidInput("autoguidance has no negative branch: drop the negative prompt")

            def guide(c: torch.Tensor):
                return autoguided(self.denoiser, self.weak, net.condition(c, identity), guidance)
        else:
            plain = identity is None or identity_scale is None or identity_scale == guidance

            def guide(c: torch.Tensor):  # equal scales: the face is guided with the prompt, two passes
                return guided(
                    self.denoiser, net.condition(c, identity),
                    net.condition(negative, None if plain else identity), guidance, self.guidance_interval,
                    unreferenced=None if plain else net.condition(negative), identity_scale=identity_scale,
                )  # fmt: skip

        model = guide(cond)
        if branch_from is not None:
            model = branched(guide(branch_from), model, sigmas, steps, strength)
        return self._draw(model, noise, sigmas, steps, callback, init, strength, n, sampler, invert_init)

    def inverted(self, z0: torch.Tensor, sigmas: torch.Tensor, prompt: str = INVERSION_PROMPT,
                 identity: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
        """Latents `z0` inverted up to sigmas[0] (sampling's descending sigmas, ending at 0): their own
        trajectory under `prompt` (and `identity`, on a model with an identity input) at guidance 1."""
        cond = self.denoiser.net.condition(self.text.encode([prompt]).expand(len(z0), -1), identity)
        return invert(guided(self.denoiser, cond, cond, 1.0), z0, sigmas)

    def _draw(
        self, model, noise, sigmas, steps, callback, init, strength, n, sampler, invert_init=False
    ) -> np.ndarray:
        """Run the sampler from noise, or from an encoded start face, noised (SDEdit) or inverted."""
        if init is None:
            return self.to_uint8(SAMPLERS[sampler](model, noise * sigmas[0], sigmas, callback))
        from ..data.dataset import to_tensor

        z0 = self.autoencoder.encode(to_tensor(np.asarray(init))).expand(n, -1, -1, -1)
        start = steps - round(float(strength) * steps)
        if start >= steps:
            return self.to_uint8(z0)
        x = self.inverted(z0, sigmas[start:]) if invert_init else z0 + noise * sigmas[start]
        return self.to_uint8(SAMPLERS[sampler](model, x, sigmas[start:], callback))
