"""Train the autoencoder (nets/autoencoder.py): faces -> 16x16x4 latents -> faces.

    portraitist train autoencoder --data celeba64,fairface64,utkface64 --minutes 15 --out runs/ae

Loss: L1 on pixels, L1 on 2x-downsampled pixels (keeps colour right while the full-resolution
term fights blur), L1 on horizontal and vertical pixel differences (edges: plain L1 alone is content
to blur eyelids and hair strands, and blur is what feature-space distances punish most) and a small
penalty on latent magnitude (keeps the latent space bounded for the denoiser). At the end the per-channel mean and spread of training latents are measured and stored,
so that `encode` gives the denoiser unit-variance latents.

`--adversarial W` adds a patch discriminator's hinge loss (nets/patch_discriminator.py) after
`--adversarial-start` steps, as latent diffusion's autoencoders do: pixel losses average away
texture (pores, hair strands) that a discriminator asks back for. Its weight is W times the ratio of
the pixel loss's gradient norm to the adversarial loss's at the decoder's last layer (latent
diffusion's adaptive weight), so the discriminator can neither drown the pixel losses nor vanish. With
`--decoder-only` it sharpens a shipped model's decoder without touching the denoiser's latents.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..checkpoints import save_weights
from ..contact_sheet import contact_sheet
from ..data import to_tensor
from ..nets.autoencoder import Autoencoder
from ..nets.patch_discriminator import PatchDiscriminator
from .data_mix import training_mixture
from .loop import (
    EMA,
    JointOptimizer,
    TrainingRun,
    average_gradients,
    check_arguments,
    init_distributed,
    seed_everything,
    start_budget,
    trainer_arguments,
    wrap_ddp,
)

LATENT_PENALTY = 1e-4


def edge_l1(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """L1 between the images' horizontal and vertical differences."""
    dx = F.l1_loss(y[..., :, 1:] - y[..., :, :-1], x[..., :, 1:] - x[..., :, :-1])
    dy = F.l1_loss(y[..., 1:, :] - y[..., :-1, :], x[..., 1:, :] - x[..., :-1, :])
    return dx + dy


def autoencoder_loss(y: torch.Tensor, x: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
    return (
        F.l1_loss(y, x)
        + F.l1_loss(F.avg_pool2d(y, 2), F.avg_pool2d(x, 2))
        + edge_l1(y, x)
        + LATENT_PENALTY * raw.pow(2).mean()
    )


def adaptive_weight(pixel: torch.Tensor, adversarial: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
    """||d pixel / d last|| / ||d adversarial / d last||, clamped; a constant for backprop."""
    g_pixel = torch.autograd.grad(pixel, last, retain_graph=True)[0].norm()
    g_adv = torch.autograd.grad(adversarial, last, retain_graph=True)[0].norm()
    return (g_pixel / (g_adv + 1e-4)).clamp(0, 1e4).detach()


def to_uint8(x: torch.Tensor) -> np.ndarray:
    return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = ((a.clamp(-1, 1) - b) ** 2).mean().item() / 4  # [-1, 1] -> [0, 1] scale
    return float(10 * np.log10(1 / max(mse, 1e-12)))


@torch.no_grad()
def measure_latent_stats(ae: Autoencoder, mixture, rng, n: int = 4096) -> None:
    raw = torch.cat([ae.encoder(to_tensor(mixture.sample(256, rng)[0])) for _ in range(n // 256)])
    ae.shift.copy_(raw.mean(dim=(0, 2, 3), keepdim=True))
    ae.scale.copy_(raw.std(dim=(0, 2, 3), keepdim=True))


def parse(argv=None) -> argparse.Namespace:
    ap = trainer_arguments("portraitist train autoencoder", __doc__, "runs/autoencoder", 15, 32, 1e-3, 5)
    ap.add_argument("--init-from", type=Path, help="start from an exported autoencoder")
    ap.add_argument("--decoder-only", action="store_true",
                    help="fine-tune the decoder only (needs --init-from): the encoder, hence the latent space "
                         "a denoiser was trained in, stays exactly as it was")  # fmt: skip
    ap.add_argument("--latent-noise", type=float, default=0.0,
                    help="decode latents with Gaussian noise of a random std in [0, this] added (unit-variance "
                         "latent space), so the decoder learns to render a denoiser's slightly-off latents cleanly")  # fmt: skip
    ap.add_argument("--adversarial", type=float, default=0.0,
                    help="weight of a patch discriminator's loss, relative to the pixel losses' gradient "
                         "(0: off; latent diffusion uses 0.5)")  # fmt: skip
    ap.add_argument("--adversarial-start", type=int, default=1000, help="steps of pixel losses alone first")
    ap.add_argument("--width", type=int, default=64, help="base width (ignored with --init-from)")
    ap.add_argument(
        "--latent-channels", type=int, default=4, help="latent channels (ignored with --init-from)"
    )
    ap.add_argument("--factor", type=int, choices=(2, 4), default=4,
                    help="downsampling: 4 gives a 16x16 latent, 2 a 32x32 one (ignored with --init-from)")  # fmt: skip
    args = ap.parse_args(argv)
    if not 0 <= args.adversarial <= 10:
        ap.error("--adversarial must be between 0 and 10")
    if args.decoder_only and not args.init_from:
        ap.error("--decoder-only needs --init-from")
    if not 0 <= args.latent_noise <= 2:
        ap.error("--latent-noise must be between 0 and 2")
    return args


def main(argv=None) -> dict:
    args = parse(argv)
    check_arguments(args)
    budget = start_budget(args)
    dist = init_distributed()
    rng = seed_everything(args.seed, dist.rank)
    mixture, _ = training_mixture(args.data, args.limit)
    if args.init_from:
        ae, _ = Autoencoder.from_file(args.init_from)
    else:
        ae = Autoencoder(args.width, args.latent_channels, args.factor)
    if args.decoder_only:
        ae.encoder.requires_grad_(False)
    ema = EMA(ae, 0.999)
    opt = torch.optim.AdamW([p for p in ae.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.0)
    ae_opt = opt
    modules = {"model": ae, "ema": ema.module}
    disc = opt_d = None
    if args.adversarial:
        disc = PatchDiscriminator()
        opt_d = torch.optim.Adam(disc.parameters(), lr=args.lr, betas=(0.5, 0.9))
        modules["disc"] = disc
        opt = JointOptimizer(opt, opt_d)
    run = TrainingRun("autoencoder", args, dist, modules, opt, rng, images_per_step=args.batch, budget=budget)
    run.resume_if_asked()
    model = wrap_ddp(ae, dist)
    fixed = to_tensor(mixture.sample(16, np.random.default_rng(123))[0])

    def step(progress: float) -> dict:
        x = to_tensor(mixture.sample(args.batch, rng, flip=True)[0])
        if args.latent_noise:
            with torch.no_grad() if args.decoder_only else contextlib.nullcontext():
                z = ae.encode(x)
            sigma = torch.rand(len(x), 1, 1, 1) * args.latent_noise
            y, raw = ae.decode(z + sigma * torch.randn_like(z)), z
        else:
            y, raw = model(x)
        loss = autoencoder_loss(y, x, raw)
        adversarial = disc is not None and run.state["step"] >= args.adversarial_start
        if adversarial:
            g_loss = -disc(y).mean()
            last = ae.decoder.net[-1].weight
            loss = loss + args.adversarial * adaptive_weight(loss, g_loss, last) * g_loss
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at step {run.state['step']}; lower --lr")
        ae_opt.zero_grad(set_to_none=True)
        loss.backward()
        if args.latent_noise:  # decoded outside the DDP wrapper: average the gradients by hand
            average_gradients(ae, dist)
        ae_opt.step()
        if adversarial or (disc is not None and run.state["step"] >= args.adversarial_start - 100):
            # hinge loss; D starts 100 steps before it is used, so its first verdicts mean something
            d_loss = F.relu(1 - disc(x)).mean() + F.relu(1 + disc(y.detach())).mean()
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            average_gradients(disc, dist)
            opt_d.step()
        ema.update(ae, run.state["step"])
        return {"loss": loss.item()}

    def write_preview() -> None:
        with torch.no_grad():
            recon = ema.module(fixed)[0]
        sheet = contact_sheet(np.concatenate([to_uint8(fixed), to_uint8(recon)]), cell=64, columns=16)
        sheet.save(args.out / f"recon-{run.state['step']:07d}.png")

    state = run.loop(step, write_preview)
    result = {}
    if dist.main:
        if not args.decoder_only:  # a frozen encoder keeps the latent statistics it was exported with
            measure_latent_stats(ema.module, mixture, np.random.default_rng(7))
        with torch.no_grad():
            result = {
                "step": state["step"],
                "images": state["images"],
                "psnr_fixed": psnr(ema.module(fixed)[0], fixed),
            }
        run.state |= result
        run.checkpoint()
        if args.export:
            meta = {"kind": "autoencoder", "config": ae.config, **result}
            save_weights(ema.module, args.export, meta | {"args": {k: str(v) for k, v in vars(args).items()}})
        print(f"autoencoder: {state['step']} steps, {state['images']} images, "
              f"PSNR on fixed faces {result['psnr_fixed']:.2f} dB")  # fmt: skip
    return result


if __name__ == "__main__":
    main()
