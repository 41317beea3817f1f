"""Weights as safetensors, written atomically, loaded without pickle; a JSON state beside them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .errors import CheckpointError
from .files import atomic_write

__all__ = ["CheckpointError", "load_exported", "load_into", "load_weights", "save_json", "save_weights"]


def save_weights(module_or_state, path: str | os.PathLike, metadata: dict | None = None, dtype=None) -> Path:
    """Save a module's (or a state dict's) tensors; `metadata` goes into the safetensors header."""
    path = Path(path)
    state = module_or_state.state_dict() if hasattr(module_or_state, "state_dict") else module_or_state
    tensors = {}
    for k, v in state.items():
        v = v.detach().cpu()
        if dtype is not None and v.is_floating_point():
            v = v.to(dtype)
        tensors[k] = v.contiguous()
    meta = {"json": json.dumps(metadata or {})}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta))
    return path


def load_weights(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict]:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        tensors = load_file(str(path))
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            meta = json.loads((f.metadata() or {}).get("json", "{}"))
    except (SafetensorError, OSError, json.JSONDecodeError, ValueError) as e:
        raise CheckpointError(
            f"{path} is not a readable safetensors checkpoint (truncated or corrupt?): {e}"
        ) from e
    return tensors, meta


def load_exported(path: Path, kind: str, what: str, train: str) -> tuple[dict[str, torch.Tensor], dict]:
    """An exported model's tensors and metadata, with errors that say what is wrong and how to get one:
    `what` names the model ("diffusion weights"), `train` the trainer ("diffusion")."""
    if not path.exists():
        raise CheckpointError(
            f"no {what} at {path}: train them with `portraitist train {train} --export {path}`"
        )
    tensors, meta = load_weights(path)
    if meta.get("kind") != kind:
        raise CheckpointError(
            f"{path} is not portraitist {what} (kind={meta.get('kind')!r}, expected {kind!r})"
        )
    return tensors, meta


def load_into(module: torch.nn.Module, path: str | os.PathLike) -> dict:
    """Load weights into `module` (cast to its dtypes); returns the metadata."""
    tensors, meta = load_weights(path)
    own = module.state_dict()
    missing, unexpected = set(own) - set(tensors), set(tensors) - set(own)
    bad = [k for k in own.keys() & tensors.keys() if own[k].shape != tensors[k].shape]
    if missing or unexpected or bad:
        raise CheckpointError(
            f"{path} does not fit {type(module).__name__}: missing {sorted(missing)[:5]}, "
            f"unexpected {sorted(unexpected)[:5]}, wrong shape {bad[:5]}"
        )
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in tensors.items()})
    return meta


def save_json(data: dict, path: str | os.PathLike) -> Path:
    path = Path(path)

    def write(tmp: str) -> None:
        Path(tmp).write_text(json.dumps(data, indent=2, default=str) + "\n")

    atomic_write(path, write)
    return path
