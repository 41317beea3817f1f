"""Train the StyleGAN2-style face generator (nets/stylegan.py) with failure-mode monitors.

    portraitist train gan --data celeba64,fairface64,utkface64 --minutes 60 --out runs/gan

Recipe: non-saturating logistic loss; lazy R1 penalty on real images every 16 steps (with
`--loss relativistic --r2-gamma G`, R3GAN's recipe instead: the relativistic pairing loss, whose
one term compares a real face with a generated one, and gradient penalties on both real (R1) and
generated (R2) images, which together make its training provably local-convergent); adaptive
differentiable augmentation (ADA: p follows r_t towards 0.6) for both real and generated images;
style mixing; EMA generator; the running average w for the truncation trick. The data mixture is
the diffusion model's (data_mix.py): CelebA, FairFace and UTKFace in thirds, balanced by race.

`--captions` trains a text-conditioned GAN: both networks take each face's caption embedding
(MiniLM, the diffusion trainer's captions of the same faces: `--per-pack` of each pack, cached
once), the generator to draw a face that fits it, the discriminator to judge real *and* fitting
(projection). Generated faces get the captions of other drawn faces; `--sparse-captions P` replaces
a share P of captions by a sparser true caption of the same face, down to "portrait of a person",
so a vague prompt keeps every face it fits. The overfitting gap compares training and held-out
faces each with its full caption. `--mode-seeking L` adds MSGAN's term (Mao et al., 2019) to the
generator's loss: its batch comes in pairs that share a caption, and it pays L / (pixel distance
between the pair's faces at 16 px / distance between their latents), so it cannot map every z of one
caption onto the same few faces (a conditional GAN's usual failure: within-prompt diversity).
`--mismatch W` adds the matching-aware term (Reed et al., 2016; GigaGAN): real faces shown with
another face's full caption count as fake, so the discriminator must check the caption, not only
the face, and a generator that ignores what a caption asks for is caught.

A campaign outlives machines: `--pack FILE` keeps the run as one compact file (float16 generator,
discriminator and EMA, and the schedule's state, without optimizer moments) at every checkpoint, small
enough to commit; `--init-from FILE` starts from such a pack, or from an exported generator (its EMA
weights, with a new discriminator: `--d-warmup N` then trains the discriminator alone for N steps,
and `--g-lr` below `--lr` keeps the generator's steps small after, so a new discriminator's noisy
verdicts do not unteach the generator; measured in session 9: with 600 warm-up steps, at which the
new discriminator was still at chance, the generator's faces visibly worsened within 500 steps).

Under torchrun, each process draws its own batches and gradients are averaged across processes
after every backward pass (plain all-reduce rather than DDP, because the R1 penalty needs a double
backward that DDP does not support), so the replicas stay identical.

Monitors (gan_health.py) watch for instability, discriminator overfitting and mode collapse, warn,
and act: halve the learning rates, raise augmentation, or restore the last healthy checkpoint.
`health.json` and `health.png` (the training-health plot) are written beside the run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..captions import caption
from ..checkpoints import load_weights, save_weights
from ..contact_sheet import contact_sheet
from ..data import to_tensor
from ..errors import InvalidInput
from ..nets.stylegan import Discriminator, Generator
from ..pipelines.face_gan import KIND as GAN_KIND
from ..pipelines.face_gan import FaceGAN, upgrade_legacy
from ..text import WIDTH as TEXT_DIM
from ..text import TextEncoder
from .augment import AdaptiveP, augment
from .autoencoder import to_uint8
from .data_mix import pack_weights, training_mixture
from .diffusion import (
    CAPTIONS_VERSION,
    SPARSE_VARIANTS,
    attribute_flags,
    cached_npz,
    caption_part,
    latent_draw,
    parse_boost,
    select_faces,
    sparse_captions,
)
from .gan_health import HealthConfig, HealthLog, diversity
from .loop import (
    EMA,
    EXPORTED_STATE,
    JointOptimizer,
    TrainingRun,
    average_gradients,
    check_arguments,
    init_distributed,
    load_checkpoint,
    seed_everything,
    start_budget,
    trainer_arguments,
)

R1_EVERY = 16
MIX_PROB = 0.9
W_AVG_BETA = 0.995
PROBE = 32  # fixed latents whose diversity the collapse monitor follows


def parse(argv=None) -> argparse.Namespace:
    ap = trainer_arguments("portraitist train gan", __doc__, "runs/gan", 60, 32, 2e-3, 5)
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--base", type=int, default=32, help="channel width at 64 px (doubles per halving)")
    ap.add_argument("--cap", type=int, help="widest layer, at low resolution (default 4x base)")
    ap.add_argument("--z-dim", type=int, default=128)
    ap.add_argument("--r1-gamma", type=float, default=0.1)
    ap.add_argument("--r2-gamma", type=float, default=0.0, help="gradient penalty on generated images")
    ap.add_argument("--loss", choices=("logistic", "relativistic"), default="logistic")
    ap.add_argument("--captions", action="store_true", help="condition both networks on the faces' captions")
    ap.add_argument("--per-pack", type=int, default=20000, help="with --captions: faces of each pack")
    ap.add_argument(
        "--sparse-captions", type=float, default=0.0, help="with --captions: share of sparser captions"
    )
    ap.add_argument("--boost", type=parse_boost, default={}, help="with --captions: e.g. eyeglasses=0.05")
    ap.add_argument(
        "--mode-seeking", type=float, default=0.0,
        help="weight of MSGAN's mode-seeking term: different z, different faces (pairs share a caption)",
    )  # fmt: skip
    ap.add_argument(
        "--mismatch", type=float, default=0.0,
        help="with --captions: weight of the matching-aware term (real faces with other faces' captions are fake)",
    )  # fmt: skip
    ap.add_argument(
        "--init-from", type=Path, help="a campaign pack (--pack) or an exported generator to start from"
    )
    ap.add_argument(
        "--pack", type=Path, help="keep the run as one compact file here (resume it with --init-from)"
    )
    ap.add_argument(
        "--d-warmup", type=int, default=0, help="train the discriminator alone for this run's first N steps"
    )
    ap.add_argument("--g-lr", type=float, help="the generator's learning rate, if not --lr (a new D: lower)")
    ap.add_argument("--ada-target", type=float, default=0.6)
    ap.add_argument(
        "--ada-kimg", type=float, default=500,
        help="thousands of images for augmentation p to move from 0 to 1 (StyleGAN2-ADA's 500)",
    )  # fmt: skip
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument(
        "--check-every", type=int, default=100, help="steps between overfitting / collapse checks"
    )
    args = ap.parse_args(argv)
    if not 0 <= args.sparse_captions < 1:
        ap.error(f"--sparse-captions must be in [0, 1), got {args.sparse_captions}")
    if (args.sparse_captions or args.boost or args.mismatch) and not args.captions:
        ap.error("--sparse-captions, --boost and --mismatch go with --captions")
    if args.g_lr is not None and args.g_lr <= 0:
        ap.error(f"--g-lr must be positive, got {args.g_lr}")
    if args.mismatch < 0 or args.d_warmup < 0:
        ap.error(f"--mismatch and --d-warmup take values >= 0, got {args.mismatch}, {args.d_warmup}")
    if args.init_from and args.resume:
        ap.error("--init-from starts a run; --resume continues one: give one of them")
    if args.mode_seeking < 0 or (args.mode_seeking and args.batch % 2):
        ap.error(
            f"--mode-seeking takes a weight >= 0 and an even --batch (pairs), got {args.mode_seeking}, {args.batch}"
        )
    return args


def networks(args) -> tuple[Generator, Discriminator]:
    c_dim = TEXT_DIM if args.captions else 0
    return (Generator(args.resolution, z_dim=args.z_dim, w_dim=args.z_dim, base=args.base, cap=args.cap, c_dim=c_dim),
            Discriminator(args.resolution, base=args.base, cap=args.cap, c_dim=c_dim))  # fmt: skip


class CaptionedFaces:
    """Faces with their captions' embeddings, drawn as the diffusion trainer draws them (packs by
    weight, race groups balanced, boosted attributes); each draw mirrors half its faces, with the
    mirrored caption, and swaps a share of captions for sparser ones."""

    def __init__(self, args, budget) -> None:
        names, weights = pack_weights(args.data)
        self.size, self.sparse_share = args.resolution, args.sparse_captions
        enc, parts = TextEncoder(capacity=0), []
        for name, train, rows in select_faces(names, args.per_pack, args.seed, args.limit):
            key = hashlib.sha1(json.dumps([name, rows.tolist(), args.seed, CAPTIONS_VERSION]).encode())

            def embed(name=name, train=train, rows=rows) -> dict:
                print(f"embedding the captions of {len(rows)} faces of {name} (cached after)")
                return caption_part(enc, name, train, rows, args.seed)

            part = cached_npz("captions-full", name, key.hexdigest()[:16], embed)
            flags = attribute_flags([train.labels[r] for r in rows])
            parts.append(part | {"images": np.asarray(train.images[rows]), "row": rows} | flags)
        self.data = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        self.data["pack"] = np.concatenate([np.full(len(p["row"]), k) for k, p in enumerate(parts)])
        self.draw = latent_draw(self.data, args.boost, pack_weights=weights)
        self.sparse = None
        if args.sparse_captions:
            self.sparse = sparse_captions(names, self.data, args.seed, args.limit, budget)
            if self.sparse is None:
                raise SystemExit("the budget ran out while embedding sparse captions (cached so far)")

    def captions(self, idx: np.ndarray, flip: np.ndarray, rng, sparse: bool = True) -> torch.Tensor:
        text = np.where(flip[:, None], self.data["text_flipped"][idx], self.data["text"][idx])
        if sparse and self.sparse is not None:
            use = rng.random(len(idx)) < self.sparse_share
            v = rng.integers(SPARSE_VARIANTS, size=len(idx))
            alt = np.where(flip[:, None], self.sparse["text_flipped"][v, idx], self.sparse["text"][v, idx])
            text = np.where(use[:, None], alt, text)
        return torch.from_numpy(text.astype(np.float32))

    def conditions(self, n: int, rng, sparse: bool = True) -> torch.Tensor:
        """Captions for n generated faces: those of n drawn faces (mirrored alike, and a share sparser
        if `sparse`)."""
        return self.captions(self.draw.sample(n, rng)[0], rng.random(n) < 0.5, rng, sparse)

    def sample(self, n: int, rng, sparse: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """n faces (N, 3, R, R) in [-1, 1] and their captions (N, 384), a share sparser if `sparse`."""
        idx = self.draw.sample(n, rng)[0]
        flip = rng.random(n) < 0.5
        faces = self.data["images"][idx]
        faces = np.where(flip[:, None, None, None], faces[:, :, ::-1], faces)
        x = to_tensor(np.ascontiguousarray(faces))
        if x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="area")
        return x, self.captions(idx, flip, rng, sparse)


def grad_norm(module: torch.nn.Module) -> float:
    norms = [p.grad.detach().norm() for p in module.parameters() if p.grad is not None]
    return float(torch.stack(norms).norm()) if norms else 0.0


def gradient_penalty(
    D: Discriminator, x: torch.Tensor, p: float, c: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean squared norm of D's gradient at the images x (R1 at real images, R2 at generated ones)."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(augment(x, p), c).sum(), x, create_graph=True)
    return grad.pow(2).sum(dim=(1, 2, 3)).mean()


def adversarial_losses(
    kind: str, d_real: torch.Tensor, d_fake: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(D's loss, G's loss) from D's logits on real and generated images. Logistic: each image judged
    alone; relativistic (RpGAN): each generated image judged against a real one, so neither
    network can win by moving every logit at once."""
    if kind == "relativistic":
        return F.softplus(d_fake - d_real).mean(), F.softplus(d_real - d_fake).mean()
    return F.softplus(d_fake).mean() + F.softplus(-d_real).mean(), F.softplus(-d_fake).mean()


def mixed_ws(G: Generator, n: int, c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-layer w for a batch and the latents it came from (N, z_dim, or 2 z_dim where mixed): with
    probability MIX_PROB, the layers after a random cut take a second w (of the same conditions)."""
    z = torch.randn(n, G.z_dim)
    w = G.ws(z, c=c).unsqueeze(1).repeat(1, G.num_ws, 1)
    if np.random.rand() < MIX_PROB:
        cut = np.random.randint(1, G.num_ws)
        z2 = torch.randn(n, G.z_dim)
        w[:, cut:] = G.ws(z2, c=c).unsqueeze(1)
        z = torch.cat([z, z2], dim=1)
    return w, z


MODE_SEEKING_SIZE = 16  # faces compared at 16 px: different faces, not different pixel noise


def mode_seeking(images: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """MSGAN's term for a batch whose halves are pairs (face i and face i + N/2 share a condition):
    the mean over pairs of 1 / (mean |pixel difference| / mean |latent difference|), which falls as
    different latents give more different faces. The faces are compared at MODE_SEEKING_SIZE px, so
    the generator cannot pay the term with high-frequency noise (seen at full size: speckled skin)."""
    if images.shape[-1] > MODE_SEEKING_SIZE:
        images = F.adaptive_avg_pool2d(images, MODE_SEEKING_SIZE)
    a, b = images.chunk(2)
    za, zb = z.chunk(2)
    ratio = (a - b).abs().mean(dim=(1, 2, 3)) / (za - zb).abs().mean(dim=1)
    return (1 / (ratio + 1e-5)).mean()


class UncaptionedFaces:
    """The unconditional GAN's faces: the packs' train splits, mixed by weight, race-balanced."""

    def __init__(self, args) -> None:
        self.mixture, self.size = training_mixture(args.data, args.limit)[0], args.resolution

    def sample(self, n: int, rng, sparse: bool = True) -> tuple[torch.Tensor, None]:
        x = to_tensor(self.mixture.sample(n, rng, flip=True)[0])
        return F.interpolate(x, size=(self.size,) * 2, mode="area") if x.shape[-1] != self.size else x, None

    def conditions(self, n: int, rng) -> None:
        return None


def main(argv=None) -> dict:
    args = parse(argv)
    check_arguments(args)
    budget = start_budget(args)
    dist = init_distributed()
    rng = seed_everything(args.seed, dist.rank)
    faces = CaptionedFaces(args, budget) if args.captions else UncaptionedFaces(args)
    heldout = _heldout(args)
    G, D = networks(args)
    ema = EMA(G, args.ema)
    opt_g = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.0, 0.99))
    opt_d = torch.optim.Adam(D.parameters(), lr=args.lr, betas=(0.0, 0.99))
    opt = JointOptimizer(opt_g, opt_d)
    ada = AdaptiveP(target=args.ada_target, speed=args.batch * dist.world * 4 / (args.ada_kimg * 1000))
    health = HealthLog(HealthConfig())
    modules = {"G": G, "D": D, "ema": ema.module}

    def on_checkpoint() -> None:
        health.to_json(args.out / "health.json")
        if args.pack:
            save_pack(args.pack, modules, run.state)

    run = TrainingRun("gan", args, dist, modules, opt, rng, images_per_step=args.batch, budget=budget,
                      on_checkpoint=on_checkpoint)  # fmt: skip
    run.state |= {"ada_p": 0.0, "lr": {"g": args.g_lr or args.lr, "d": args.lr}}
    if args.init_from:
        run.state |= start_from(args.init_from, modules)
        print(f"starting from {args.init_from} (step {run.state['step']}, {run.state['images']} images)")
    run.state["g_frozen_until"] = run.state["step"] + args.d_warmup  # (a resumed run keeps its own)
    if run.resume_if_asked() and (args.out / "health.json").exists():
        health = HealthLog.from_json(args.out / "health.json")
    ada.p = run.state["ada_p"]
    _set_lr(opt_g, opt_d, run.state["lr"])
    probe_z = torch.randn(PROBE, args.z_dim, generator=torch.Generator().manual_seed(1234))
    probe_c = faces.sample(PROBE, np.random.default_rng(1234))[1]  # real faces' captions, or None
    real_div = diversity(faces.sample(64, np.random.default_rng(99))[0])

    def halve_lr() -> None:
        run.state["lr"] = {k: v / 2 for k, v in run.state["lr"].items()}
        _set_lr(opt_g, opt_d, run.state["lr"])

    def restore() -> None:
        lr = run.state["lr"]
        if (args.out / "ckpt").exists():
            saved = load_checkpoint(args.out, modules, opt, rng)
            ada.p = saved["ada_p"]
            run.state |= {k: saved[k] for k in ("ada_p",)}
        run.state["lr"] = lr
        halve_lr()

    if dist.main and not args.resume:
        run.checkpoint()  # something healthy to restore from, from the first step

    def step(progress: float) -> dict:
        step = run.state["step"]
        # --- discriminator
        real, c_real = faces.sample(args.batch, rng)
        c_fake = faces.conditions(args.batch, rng)  # other faces' captions (None: unconditional)
        with torch.no_grad():
            fake = G.synthesis(mixed_ws(G, args.batch, c_fake)[0])
        d_real, d_fake = D(augment(real, ada.p), c_real), D(augment(fake, ada.p), c_fake)
        d_loss = d_main = adversarial_losses(args.loss, d_real, d_fake)[0]
        if args.mismatch:  # real faces with other faces' full captions: fake
            c_wrong = faces.conditions(args.batch, rng, sparse=False)
            d_loss = d_loss + args.mismatch * F.softplus(D(augment(real, ada.p), c_wrong)).mean()
        if step % R1_EVERY == 0:  # lazy: every R1_EVERY steps, scaled up to match
            d_loss = d_loss + args.r1_gamma / 2 * gradient_penalty(D, real, ada.p, c_real) * R1_EVERY
            if args.r2_gamma:
                d_loss = d_loss + args.r2_gamma / 2 * gradient_penalty(D, fake, ada.p, c_fake) * R1_EVERY
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        average_gradients(D, dist)
        d_grad = grad_norm(D)
        opt_d.step()
        ada.update(d_real)
        run.state["ada_p"] = ada.p
        if step < run.state.get("g_frozen_until", 0):  # a new discriminator learns first
            return {"loss": d_main.item(), "checkpoint_ok": True}
        # --- generator
        if args.mode_seeking and c_fake is not None:  # pairs: the second half repeats the first's captions
            c_fake = c_fake[: args.batch // 2].repeat(2, 1)
        w, z = mixed_ws(G, args.batch, c_fake)
        if args.loss == "relativistic":
            with torch.no_grad():  # the real side carries no gradient to G
                d_real = D(augment(real, ada.p), c_real)
        fake = G.synthesis(w)
        g_loss = adversarial_losses(args.loss, d_real.detach(), D(augment(fake, ada.p), c_fake))[1]
        g_total = g_loss + args.mode_seeking * mode_seeking(fake, z) if args.mode_seeking else g_loss
        opt_g.zero_grad(set_to_none=True)
        g_total.backward()
        average_gradients(G, dist)
        g_grad = grad_norm(G)
        opt_g.step()
        with torch.no_grad():
            G.w_avg.lerp_(w[:, 0].mean(0), 1 - W_AVG_BETA)
        ema.update(G, step)
        # --- monitors
        # D's loss without the R1 term, and its gradient norm only on steps without R1: the penalty
        # has a scale of its own and would look like a spike every R1_EVERY steps
        grads = {"d_grad": d_grad, "g_grad": g_grad} if step % R1_EVERY else {"g_grad": g_grad}
        events = health.observe_step(step, d_loss=d_main.item(), g_loss=g_loss.item(), **grads)
        if step % args.check_every == 0 and step > 0:
            health.record(step, p=ada.p)
            with torch.no_grad():
                # training faces with their full captions, as the held-out faces have theirs
                train_logit = float(D(*faces.sample(64, np.random.default_rng(step), sparse=False)).mean())
                held_logit = float(D(*heldout(64, step)).mean()) if heldout else None
                probe = ema.module(probe_z, c=probe_c)
            events += health.observe_overfitting(step, ada.rt, train_logit, held_logit)
            events += health.observe_diversity(step, diversity(probe), real_div)
        actions = {e.action for e in events}
        if "restore" in actions:
            restore()
        elif "lower_lr" in actions:
            halve_lr()
        if "raise_augment" in actions:
            ada.p = min(ada.max_p, ada.p + health.config.p_step)
            run.state["ada_p"] = ada.p
        return {"loss": g_loss.item(), "checkpoint_ok": not events}

    def write_preview() -> None:
        with torch.no_grad():
            grid = to_uint8(
                ema.module(probe_z[:16], truncation=0.7, c=None if probe_c is None else probe_c[:16])
            )
        contact_sheet(grid, cell=96, columns=8).save(args.out / f"samples-{run.state['step']:07d}.png")
        health.plot(args.out / "health.png")

    state = run.loop(step, write_preview)
    if dist.main:
        health.plot(args.out / "health.png")
        if args.export:
            export(args.export, ema.module, state, args)
        if args.pack:
            save_pack(args.pack, modules, state)
        print(f"gan: {state['step']} steps, {state['images']} images in {state['train_seconds'] / 60:.1f} min, "
              f"{len(health.events)} monitor events")  # fmt: skip
    return state | {"events": [e.__dict__ for e in health.events]}


def _heldout(args):
    """A sampler of held-out real faces (valid splits) and, with --captions, their captions' embeddings,
    for the overfitting gap; None if there are none."""
    from ..data import load

    encoder = TextEncoder(capacity=0) if args.captions else None
    faces = []
    for name in pack_weights(args.data)[0]:
        valid = load(name, limit=args.limit).filter(split="valid")
        if len(valid):
            faces.append(valid)
    if not faces:
        return None

    def sample(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        r = np.random.default_rng(seed)
        part = faces[r.integers(len(faces))]
        rows = np.sort(r.choice(part.index, min(n, len(part)), replace=False))
        x = to_tensor(part.images[rows])
        if x.shape[-1] != args.resolution:
            x = F.interpolate(x, size=(args.resolution,) * 2, mode="area")
        if encoder is None:
            return x, None
        text_rng = random.Random(seed)
        return x, encoder.encode([caption(part.labels[i], text_rng) for i in rows])

    return sample


def _set_lr(opt_g, opt_d, lr: dict) -> None:
    for group in opt_g.param_groups:
        group["lr"] = lr["g"]
    for group in opt_d.param_groups:
        group["lr"] = lr["d"]


PACK_KIND = "stylegan-campaign"
PACK_STATE = (*EXPORTED_STATE, "ada_p", "lr")


def save_pack(path: Path, modules: dict[str, torch.nn.Module], state: dict) -> Path:
    """The run as one compact file: float16 generator, discriminator and EMA, and the schedule's state.
    Adam's moments are left out (they double the size and re-estimate themselves within a hundred
    steps), so a run started from a pack continues closely, not exactly."""
    tensors = {f"{name}.{k}": v for name, m in modules.items() for k, v in m.state_dict().items()}
    meta = {"kind": PACK_KIND, "config": modules["G"].config, "state": {k: state[k] for k in PACK_STATE}}
    return save_weights(tensors, path, meta, dtype=torch.float16)


def start_from(path: Path, modules: dict[str, torch.nn.Module]) -> dict:
    """Load a campaign pack (G, D and EMA) or an exported generator (into G and EMA; D stays new) into
    `modules`; returns the training state it carries (step, images seen, seconds, ADA's p)."""
    tensors, meta = load_weights(path)
    if meta.get("kind") == PACK_KIND:
        parts = {name: {k[len(name) + 1 :]: v for k, v in tensors.items() if k.startswith(f"{name}.")}
                 for name in modules}  # fmt: skip
        # learning rates are recorded, not carried: a new run takes its own from --lr / --g-lr
        state, config = {k: v for k, v in meta["state"].items() if k != "lr"}, meta["config"]
    elif meta.get("kind") == GAN_KIND:
        parts, config = {"G": tensors, "ema": tensors}, upgrade_legacy(meta)
        state = {k: meta.get("train", {}).get(k, 0) for k in EXPORTED_STATE}
    else:
        raise InvalidInput(f"--init-from {path}: neither a campaign pack nor an exported generator")
    if config != modules["G"].config:
        raise InvalidInput(
            f"--init-from {path}: its generator is {config}, this run's is {modules['G'].config}"
        )
    for name, weights in parts.items():
        try:
            modules[name].load_state_dict({k: v.float() for k, v in weights.items()})
        except RuntimeError as e:
            raise InvalidInput(f"--init-from {path}: its {name} does not fit this run's: {e}") from e
    return state


def export(path: Path, G: Generator, state: dict, args) -> Path:
    """The trained generator in the pipeline's format (its configuration saved beside the weights)."""
    return FaceGAN(G, {}).save_pretrained(
        path,
        train={k: state[k] for k in EXPORTED_STATE},
        args={k: str(v) for k, v in vars(args).items()},
    )


if __name__ == "__main__":
    main()
