"""Training machinery every trainer shares: checkpoints that survive SIGKILL, EMA, resume,
time budgets, progress, and running unchanged under torchrun (DDP; gloo on CPU, NCCL on GPU).

A checkpoint is a folder `ckpt/` holding `weights.safetensors` (networks and EMA), `optim.safetensors`
(optimizer moments) and `state.json` (step, images seen, RNG states, config). It is written as
`ckpt.tmp/` and swapped in by renames, so a kill at any moment leaves either the old or the new
checkpoint whole: a killed run loses at most one checkpoint interval.
"""

from __future__ import annotations

import copy
import json
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..checkpoints import CheckpointError, load_weights, save_json, save_weights

# ---------------------------------------------------------------------------- distributed


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed() -> Dist:
    """Under torchrun (WORLD_SIZE > 1) join the process group: NCCL with CUDA, else gloo."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size())


def wrap_ddp(module: nn.Module, d: Dist) -> nn.Module:
    if d.world == 1:
        return module
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(module)


def average_gradients(module: nn.Module, d: Dist) -> None:
    """All-reduce and average gradients across processes (for trainers that cannot use DDP)."""
    if d.world == 1:
        return
    import torch.distributed as dist

    for p in module.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= d.world


def barrier(d: Dist) -> None:
    if d.world > 1:
        import torch.distributed as dist

        dist.barrier()


def fingerprint(module: nn.Module) -> str:
    """A hash of a network's parameters: equal on every DDP replica when they are in sync."""
    import hashlib

    h = hashlib.sha1()
    for p in module.parameters():
        h.update(p.detach().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def broadcast_progress(progress: float, d: Dist) -> float:
    """Rank 0's share of the time budget spent, on every rank (time is read on rank 0 only, so
    that all ranks stop, and schedule their learning rate, alike)."""
    if d.world == 1:
        return progress
    import torch.distributed as dist

    value = torch.tensor([float(progress)], dtype=torch.float64)
    dist.broadcast(value, 0)
    return float(value.item())


def broadcast_stop(stop: bool, d: Dist) -> bool:
    """Every rank stops when rank 0 says so."""
    return broadcast_progress(1.0 if stop else 0.0, d) >= 1


def cosine_lr(lr: float, final: float, progress: float) -> float:
    """From lr at progress 0 down to lr * final at progress 1, along half a cosine."""
    return lr * (final + (1 - final) * 0.5 * (1 + math.cos(math.pi * min(max(progress, 0.0), 1.0))))


# ---------------------------------------------------------------------------- EMA


class EMA:
    """Exponential moving average of a network's weights, with warm-up (the decay grows with steps)."""

    def __init__(self, module: nn.Module, decay: float = 0.999) -> None:
        self.decay = decay
        self.module = copy.deepcopy(module).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, module: nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for e, p in zip(self.module.parameters(), module.parameters(), strict=True):
            e.lerp_(p.detach(), 1 - d)
        for e, b in zip(self.module.buffers(), module.buffers(), strict=True):
            e.copy_(b)


# ---------------------------------------------------------------------------- optimizer state


def optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = opt.state_dict()
    tensors = {}
    for idx, st in sd["state"].items():
        for k, v in st.items():
            tensors[f"{idx}.{k}"] = v if torch.is_tensor(v) else torch.tensor(v)
    return tensors, {"param_groups": sd["param_groups"]}


def restore_optimizer(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: dict) -> None:
    state: dict[int, dict] = {}
    for key, v in tensors.items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = v
    opt.load_state_dict({"state": state, "param_groups": groups["param_groups"]})


# ---------------------------------------------------------------------------- checkpoints


class JointOptimizer:
    """Several optimizers saved and restored as one (a checkpoint takes one): a GAN's two Adams,
    an autoencoder's and its patch discriminator's."""

    def __init__(self, *opts: torch.optim.Optimizer) -> None:
        self.opts = opts
        self.sizes = [sum(len(g["params"]) for g in o.param_groups) for o in opts]

    def state_dict(self) -> dict:
        state, groups, offset = {}, [], 0
        for k, (o, size) in enumerate(zip(self.opts, self.sizes, strict=True)):
            sd = o.state_dict()
            state |= {i + offset: v for i, v in sd["state"].items()}
            groups += [
                g | {"params": [i + offset for i in g["params"]], "owner": k} for g in sd["param_groups"]
            ]
            offset += size
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, sd: dict) -> None:
        offset = 0
        for k, (o, size) in enumerate(zip(self.opts, self.sizes, strict=True)):
            # checkpoints from before "owner" was recorded hold one group per optimizer, in order
            groups = [{key: v for key, v in g.items() if key != "owner"} | {"params": [i - offset for i in g["params"]]}
                      for n, g in enumerate(sd["param_groups"]) if g.get("owner", n) == k]  # fmt: skip
            state = {i - offset: v for i, v in sd["state"].items() if offset <= int(i) < offset + size}
            o.load_state_dict({"state": state, "param_groups": groups})
            offset += size


def save_checkpoint(
    run: Path, modules: dict[str, nn.Module], opt: torch.optim.Optimizer | None, state: dict
) -> Path:
    run.mkdir(parents=True, exist_ok=True)
    final, tmp, old = run / "ckpt", run / "ckpt.tmp", run / "ckpt.old"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    weights = {f"{name}.{k}": v for name, m in modules.items() for k, v in m.state_dict().items()}
    save_weights(weights, tmp / "weights.safetensors")
    groups = {}
    if opt is not None:
        tensors, groups = optimizer_tensors(opt)
        save_weights(tensors, tmp / "optim.safetensors")
    rng = {"torch": torch.get_rng_state().tolist()}
    save_json({**state, "optimizer": groups, "rng": rng, "saved_at": time.time()}, tmp / "state.json")
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(
    run: Path, modules: dict[str, nn.Module], opt: torch.optim.Optimizer | None = None
) -> dict:
    """Restore networks (and optimizer, RNG); returns the saved state. Falls back to `ckpt.old` if
    a kill struck between the two renames."""
    folder = run / "ckpt" if (run / "ckpt" / "state.json").exists() else run / "ckpt.old"
    if not (folder / "state.json").exists():
        raise CheckpointError(f"no checkpoint in {run} to resume from")
    try:
        state = json.loads((folder / "state.json").read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{folder / 'state.json'} is corrupt: {e}") from e
    tensors, _ = load_weights(folder / "weights.safetensors")
    for name, m in modules.items():
        own = {k[len(name) + 1 :]: v for k, v in tensors.items() if k.startswith(name + ".")}
        try:
            m.load_state_dict(own)
        except RuntimeError as e:
            raise CheckpointError(f"{folder} does not fit the network {name!r}: {e}") from e
    if opt is not None and (folder / "optim.safetensors").exists():
        otensors, _ = load_weights(folder / "optim.safetensors")
        restore_optimizer(opt, otensors, state["optimizer"])
    torch.set_rng_state(torch.tensor(state["rng"]["torch"], dtype=torch.uint8))
    return state


# ---------------------------------------------------------------------------- the clock


class Budget:
    """Wall-clock budget with periodic events (checkpoint, sample grid), counted from the run's start."""

    def __init__(self, minutes: float, every: dict[str, float]) -> None:
        if not 0 < minutes < 60 * 24 * 30:
            raise ValueError(f"--minutes must be positive and under a month, got {minutes}")
        self.start, self.seconds = time.time(), minutes * 60
        self.every = every
        self.last = dict.fromkeys(every, self.start)

    def elapsed(self) -> float:
        return time.time() - self.start

    def done(self) -> bool:
        return self.elapsed() >= self.seconds

    def progress(self) -> float:
        return self.elapsed() / self.seconds

    def due(self, event: str) -> bool:
        now = time.time()
        if now - self.last[event] >= self.every[event]:
            self.last[event] = now
            return True
        return False


def trainer_arguments(
    prog: str, doc: str, out: str, minutes: float, batch: int, lr: float, sample_minutes: float
):
    """The options every trainer takes; each adds its own."""
    import argparse

    ap = argparse.ArgumentParser(prog=prog, description=doc)
    ap.add_argument(
        "--data", default="celeba64,fairface64,utkface64", help="packs or dataset folders, comma-separated"
    )
    ap.add_argument("--minutes", type=float, default=minutes, help="wall-clock training budget")
    ap.add_argument("--out", type=Path, default=Path(out), help="run folder: checkpoints, sample grids, logs")
    ap.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint")
    ap.add_argument("--batch", type=int, default=batch)
    ap.add_argument("--lr", type=float, default=lr)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--checkpoint-minutes", type=float, default=3)
    ap.add_argument("--sample-minutes", type=float, default=sample_minutes)
    ap.add_argument("--limit", type=int, help="read only the first N records of each pack (tests)")
    ap.add_argument("--export", type=Path, help="write the finished model here (safetensors)")
    return ap


def check_arguments(args) -> None:
    if args.batch < 1 or args.lr <= 0 or args.checkpoint_minutes <= 0 or args.sample_minutes <= 0:
        raise ValueError(
            "--batch must be positive, --lr, --checkpoint-minutes and --sample-minutes above zero"
        )


def seed_everything(seed: int, rank: int = 0) -> np.random.Generator:
    torch.manual_seed(seed + 1000 * rank)
    return np.random.default_rng(seed + 1000 * rank)
