"""Training machinery every trainer shares: the loop itself (`TrainingRun`), checkpoints that
survive SIGKILL and resume exactly, EMA, budgets in steps or minutes, progress, and running
unchanged under torchrun (DDP; gloo on CPU, NCCL on GPU).

A trainer builds its networks, optimizer and data, then hands the loop one function: its step.
The loop owns the rest: when to stop, when to checkpoint and preview, resuming, the progress bar.
A run with `--steps N` repeats exactly, also when killed and resumed: every random state (torch,
numpy's global and the data order's generator, Python's) is saved with the weights and restored.

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
import random
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..checkpoints import CheckpointError, load_weights, save_json, save_weights
from ..errors import InvalidInput

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


def random_states(data_rng: np.random.Generator | None = None) -> dict:
    """Every random state a step may draw from, as JSON."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    out = {
        "torch": torch.get_rng_state().tolist(),
        "numpy": [kind, keys.tolist(), pos, has_gauss, gauss],
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
    }
    if data_rng is not None:
        out["data"] = data_rng.bit_generator.state
    return out


def restore_random_states(saved: dict, data_rng: np.random.Generator | None = None) -> None:
    """The inverse of random_states (checkpoints from before it saved all of them restore torch's)."""
    torch.set_rng_state(torch.tensor(saved["torch"], dtype=torch.uint8))
    if "numpy" in saved:
        kind, keys, pos, has_gauss, gauss = saved["numpy"]
        np.random.set_state((kind, np.array(keys, np.uint32), pos, has_gauss, gauss))
    if "python" in saved:
        version, internal, gauss = saved["python"]
        random.setstate((version, tuple(internal), gauss))
    if data_rng is not None and "data" in saved:
        data_rng.bit_generator.state = saved["data"]


def save_checkpoint(
    run: Path, modules: dict[str, nn.Module], opt: torch.optim.Optimizer | None, state: dict,
    data_rng: np.random.Generator | None = None,
) -> Path:  # fmt: skip
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
    save_json({**state, "optimizer": groups, "rng": random_states(data_rng), "saved_at": time.time()},
              tmp / "state.json")  # fmt: skip
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(
    run: Path, modules: dict[str, nn.Module], opt: torch.optim.Optimizer | None = None,
    data_rng: np.random.Generator | None = None, optional: tuple[str, ...] = (),
) -> dict:  # fmt: skip
    """Restore networks (and optimizer, RNG); returns the saved state, with "absent_modules": the
    `optional` networks the checkpoint did not hold (left as they are: added to a running campaign).
    Falls back to `ckpt.old` if a kill struck between the two renames."""
    folder = run / "ckpt" if (run / "ckpt" / "state.json").exists() else run / "ckpt.old"
    if not (folder / "state.json").exists():
        raise CheckpointError(f"no checkpoint in {run} to resume from")
    try:
        state = json.loads((folder / "state.json").read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{folder / 'state.json'} is corrupt: {e}") from e
    tensors, _ = load_weights(folder / "weights.safetensors")
    state["absent_modules"] = []
    for name, m in modules.items():
        own = {k[len(name) + 1 :]: v for k, v in tensors.items() if k.startswith(name + ".")}
        if not own and name in optional:
            state["absent_modules"].append(name)
            continue
        try:
            m.load_state_dict(own)
        except RuntimeError as e:
            raise CheckpointError(f"{folder} does not fit the network {name!r}: {e}") from e
    if opt is not None and (folder / "optim.safetensors").exists():
        otensors, _ = load_weights(folder / "optim.safetensors")
        restore_optimizer(opt, otensors, state["optimizer"])
    restore_random_states(state["rng"], data_rng)
    return state


# ---------------------------------------------------------------------------- the clock


class Budget:
    """When a run stops: after `steps` steps, or `minutes` of wall clock counted from the command's
    start (preparation included), whichever comes first; and periodic events (checkpoint, preview)."""

    def __init__(self, minutes: float | None, every: dict[str, float], steps: int | None = None) -> None:
        if minutes is None and steps is None:
            raise InvalidInput("a run needs a budget: --minutes, --steps or both")
        if minutes is not None and not 0 < minutes < 60 * 24 * 30:
            raise InvalidInput(f"--minutes must be positive and under a month, got {minutes}")
        if steps is not None and steps < 0:
            raise InvalidInput(f"--steps must not be negative, got {steps}")
        self.start, self.steps = time.time(), steps
        self.seconds = minutes * 60 if minutes is not None else math.inf
        self.every = every
        self.last = dict.fromkeys(every, self.start)
        self.stop_signal: str | None = None  # set when the process was asked to stop (SIGTERM)

    def elapsed(self) -> float:
        return time.time() - self.start

    def out_of_time(self) -> bool:
        return self.elapsed() >= self.seconds

    def done(self, step: int) -> bool:
        return bool(self.stop_signal) or self.out_of_time() or (self.steps is not None and step >= self.steps)

    def progress(self, step: int = 0) -> float:
        """The share of the budget spent; by steps where steps are the budget, so that learning-rate
        schedules (and so the weights) of a `--steps` run do not depend on the machine's speed."""
        if self.steps is not None:
            return step / max(self.steps, 1)
        return self.elapsed() / self.seconds

    def due(self, event: str) -> bool:
        now = time.time()
        if now - self.last[event] >= self.every[event]:
            self.last[event] = now
            return True
        return False


# what a trained model records of its run (an export's meta "train"); a resumed run continues from it
EXPORTED_STATE = ("step", "images", "train_seconds")


@dataclass
class TrainingRun:
    """The loop every trainer shares. A trainer supplies its networks (`modules`, saved by name),
    its optimizer, the generator its data is drawn with, and a `step(progress)` that trains one
    batch and returns its numbers ({"loss": ...}; "checkpoint_ok": False vetoes a checkpoint now).

        run = TrainingRun("diffusion", args, dist, {"model": net, "ema": ema.module}, opt, rng,
                          images_per_step=args.batch)
        run.resume_if_asked()
        run.loop(step, preview=write_grid)
    """

    name: str
    args: object  # the parsed trainer arguments (trainer_arguments): out, minutes, steps, resume ...
    dist: Dist
    modules: dict[str, nn.Module]
    optimizer: object | None
    data_rng: np.random.Generator
    images_per_step: int
    state: dict = field(default_factory=lambda: {"step": 0, "images": 0, "train_seconds": 0.0})
    budget: Budget | None = None
    on_checkpoint: Callable[[], None] | None = None  # extra files to write beside a checkpoint
    optional: tuple[str, ...] = ()  # modules a checkpoint may lack (see load_checkpoint)
    absent: tuple[str, ...] = ()  # after resuming: the optional modules the checkpoint lacked

    def __post_init__(self) -> None:
        if self.budget is None:
            self.budget = start_budget(self.args)
        Path(self.args.out).mkdir(parents=True, exist_ok=True)

    def resume_if_asked(self) -> bool:
        if not self.args.resume:
            return False
        self.state = load_checkpoint(
            self.args.out, self.modules, self.optimizer, self.data_rng, self.optional
        )
        self.absent = tuple(self.state.pop("absent_modules"))
        self.state.pop("stopped_by", None)
        print(f"resumed {self.args.out} at step {self.state['step']}")
        return True

    def checkpoint(self) -> None:
        state = self.state | {"args": vars(self.args)}
        save_checkpoint(self.args.out, self.modules, self.optimizer, state, self.data_rng)
        if self.on_checkpoint:
            self.on_checkpoint()

    def loop(self, step: Callable[[float], dict], preview: Callable[[], None] | None = None) -> dict:
        args, dist, state, budget = self.args, self.dist, self.state, self.budget
        base_seconds = state["train_seconds"]
        started = budget.elapsed()
        bar = tqdm(desc=self.name, unit="img", disable=not dist.main, mininterval=5)
        losses: list[float] = []
        previous = _stop_on_sigterm(budget)
        while not broadcast_stop(budget.done(state["step"]), dist):
            numbers = step(broadcast_progress(budget.progress(state["step"]), dist))
            state["step"] += 1
            state["images"] += self.images_per_step * dist.world
            state["train_seconds"] = base_seconds + budget.elapsed() - started
            bar.update(self.images_per_step * dist.world)
            if "loss" in numbers:
                losses.append(float(numbers["loss"]))
                if state["step"] % 50 == 0:
                    bar.set_postfix(loss=f"{np.mean(losses[-200:]):.4f}")
            if dist.main and numbers.get("checkpoint_ok", True) and budget.due("checkpoint"):
                self.checkpoint()
                if losses:
                    with open(args.out / "loss.jsonl", "a") as f:
                        f.write(
                            json.dumps({"step": state["step"], "loss": float(np.mean(losses[-200:]))}) + "\n"
                        )
            if dist.main and preview and budget.due("sample"):
                preview()
        bar.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if budget.stop_signal:
            state["stopped_by"] = budget.stop_signal
            print(f"stopped by {budget.stop_signal} after step {state['step']}: checkpointing", flush=True)
        print(f"rank {dist.rank} parameters {fingerprint(next(iter(self.modules.values())))} "
              f"after step {state['step']}", flush=True)  # fmt: skip
        if dist.main:
            self.checkpoint()
        return state


def _stop_on_sigterm(budget: Budget):
    """A SIGTERM (a session ending, `kill`) ends the run after the current step, with the usual
    checkpoint and export, so nothing since the last periodic checkpoint is lost. A second SIGTERM
    kills at once (the handler puts the previous one back). Returns the previous handler, or None
    where signals cannot be handled (not the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame) -> None:
        budget.stop_signal = "SIGTERM"
        signal.signal(signal.SIGTERM, previous)

    previous = signal.signal(signal.SIGTERM, handler) or signal.SIG_DFL
    return previous


def start_budget(args) -> Budget:
    every = {"checkpoint": args.checkpoint_minutes * 60, "sample": args.sample_minutes * 60}
    return Budget(args.minutes, every, getattr(args, "steps", None))


def trainer_arguments(
    prog: str, doc: str, out: str, minutes: float, batch: int, lr: float, sample_minutes: float
):
    """The options every trainer takes; each adds its own."""
    import argparse

    ap = argparse.ArgumentParser(prog=prog, description=doc)
    ap.add_argument(
        "--data", default="celeba64,fairface64,utkface64", help="packs or dataset folders, comma-separated"
    )
    ap.add_argument(
        "--minutes",
        type=float,
        default=None,
        help=f"wall-clock budget, preparation included (default {minutes:g}, or none with --steps)",
    )
    ap.add_argument(
        "--steps",
        type=int,
        help="stop after this many steps (repeatable runs; with --minutes, whichever comes first)",
    )
    ap.set_defaults(default_minutes=minutes)
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
    if args.minutes is None and args.steps is None:
        args.minutes = args.default_minutes
    if args.batch < 1 or args.lr <= 0 or args.checkpoint_minutes <= 0 or args.sample_minutes <= 0:
        raise InvalidInput(
            "--batch must be positive, --lr, --checkpoint-minutes and --sample-minutes above zero"
        )


def seed_everything(seed: int, rank: int = 0) -> np.random.Generator:
    torch.manual_seed(seed + 1000 * rank)
    return np.random.default_rng(seed + 1000 * rank)
